// The requests dorset-loadgen sends: one method's request built from a JSON template, with
// {{seq}} replaced by a number unique to each call (for request_id idempotency keys),
// {{uuid}} by a UUID-shaped key unique to each call and scattered over the key space (what real
// clients' request ids look like: each lands on a different index page) and {{slot}} by the
// call's in-flight slot.
//
//   ASSIGN_OR_RETURN(RequestMaker maker, RequestMaker::Create(
//       "/dorset.finance.v1.FinanceService/CreatePosting", R"({"requestId":"w-{{seq}}", ...})"));
//   std::string bytes = maker.Make(seq, slot);  // the serialized request
//
// The template is parsed once. Parsing JSON per call cost ~285k instructions in the load
// generator (protobuf's JSON parser goes through a type resolver), more than a whole call of the
// servers it measures, and that CPU is taken from them on this 2-core machine. So a template
// whose placeholders all sit inside string values is kept as a message, with the places of
// those strings ("holes"); a call copies the message, fills the holes and serializes it. A
// template with a placeholder anywhere else (an unquoted number) is rendered and parsed per call.
#ifndef DORSET_BENCH_LOADGEN_REQUEST_MAKER_H_
#define DORSET_BENCH_LOADGEN_REQUEST_MAKER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"

namespace dorset::bench {

// The {{uuid}} of call `seq`: a version-4-shaped UUID, a fixed function of `seq` (so a run
// can be repeated), different for every seq, consecutive seqs far apart in key order.
std::string UuidOfSeq(uint64_t seq);

class RequestMaker {
 public:
  // The method's request type is looked up in the linked protos; the template must parse.
  static absl::StatusOr<RequestMaker> Create(std::string_view method_path,
                                             const std::string& request_json);

  // The serialized request of call `seq` in slot `slot`.
  std::string Make(uint64_t seq, int slot) const;

  // Whether each call renders and parses the JSON template (a placeholder outside a string).
  bool ParsesPerCall() const { return templated_ && parsed_ == nullptr; }

  // The same request by the slow path, the template rendered and parsed as JSON: what Make
  // must equal (tests/bench/request_maker_test.cc).
  absl::StatusOr<std::string> MakeFromJson(uint64_t seq, int slot) const;

 private:
  // One step from a message into its field; index is -1 for a singular field.
  struct Step {
    const google::protobuf::FieldDescriptor* field = nullptr;
    int index = -1;
  };
  // A string value of the template with a placeholder in it, and where it is.
  struct Hole {
    std::vector<Step> path;  // the last step is the string field itself
    std::string text;        // the template's value, placeholders unreplaced
  };

  static void FindHoles(const google::protobuf::Message& message, std::vector<Step>& path,
                        std::vector<Hole>& holes);
  absl::StatusOr<std::string> Serialize(const std::string& json) const;

  std::shared_ptr<google::protobuf::DynamicMessageFactory> factory_ =
      std::make_shared<google::protobuf::DynamicMessageFactory>();
  const google::protobuf::Message* prototype_ = nullptr;
  std::string template_json_;
  bool templated_ = false;
  std::string fixed_;  // the request when the template has no placeholder
  std::shared_ptr<const google::protobuf::Message> parsed_;  // with holes: the template parsed
  std::vector<Hole> holes_;
};

}  // namespace dorset::bench

#endif  // DORSET_BENCH_LOADGEN_REQUEST_MAKER_H_
