#include "bench/loadgen/request_maker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/util/json_util.h"

namespace dorset::bench {
namespace {

// splitmix64's finaliser: a bijection on 64 bits whose outputs for consecutive inputs look
// unrelated, so consecutive seqs give unique keys spread over the whole key space.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Fill(std::string_view text, uint64_t seq, int slot) {
  absl::string_view view(text.data(), text.size());
  // A UUID is made only for a template that asks for one (the call's cost is the load generator's).
  const std::string uuid = absl::StrContains(view, "{{uuid}}") ? UuidOfSeq(seq) : std::string();
  return absl::StrReplaceAll(
      view, {{"{{seq}}", absl::StrCat(seq)}, {"{{slot}}", absl::StrCat(slot)}, {"{{uuid}}", uuid}});
}

// How many placeholders ("{{") `text` holds.
size_t Placeholders(absl::string_view text) {
  size_t n = 0;
  for (size_t at = text.find("{{"); at != absl::string_view::npos; at = text.find("{{", at + 2)) {
    ++n;
  }
  return n;
}

}  // namespace

std::string UuidOfSeq(uint64_t seq) {
  // All 64 bits of Mix(seq) go into the UUID (a bijection of seq, so unique per seq); `low`
  // fills the rest. Version 4 and the RFC 4122 variant sit where a random UUID has them.
  const uint64_t high = Mix(seq);
  const uint64_t low = Mix(high ^ 0x5deece66dULL);
  const uint64_t version_and_bits = 0x4000ULL | ((high >> 4) & 0x0fffULL);
  const uint64_t variant_and_bits = 0x8000ULL | ((high & 0xfULL) << 10) | ((low >> 48) & 0x3ffULL);
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", high >> 32, (high >> 16) & 0xffffULL,
                         version_and_bits, variant_and_bits, low & 0xffffffffffffULL);
}

absl::StatusOr<RequestMaker> RequestMaker::Create(std::string_view method_path,
                                                  const std::string& request_json) {
  std::string full(method_path.substr(method_path.empty() ? 0 : 1));
  std::replace(full.begin(), full.end(), '/', '.');
  const auto* method = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full);
  if (method == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("unknown method ", absl::string_view(method_path.data(), method_path.size())));
  }
  RequestMaker maker;
  // The compiled class when the proto is linked (every contract is, in dorset-loadgen): its
  // copies and serialization cost a fraction of a dynamic message's.
  maker.prototype_ =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type());
  if (maker.prototype_ == nullptr) {
    maker.prototype_ = maker.factory_->GetPrototype(method->input_type());
  }
  maker.template_json_ = request_json;
  maker.templated_ = absl::StrContains(request_json, "{{");
  if (!maker.templated_) {
    absl::StatusOr<std::string> fixed = maker.Serialize(request_json);
    if (!fixed.ok()) return fixed.status();
    maker.fixed_ = *std::move(fixed);
    return maker;
  }
  // Placeholders inside string values parse as they are: keep the parsed template and its holes
  // when they account for every placeholder of the text.
  std::unique_ptr<Message> parsed(maker.prototype_->New());
  if (google::protobuf::util::JsonStringToMessage(request_json, parsed.get()).ok()) {
    std::vector<Step> path;
    std::vector<Hole> holes;
    FindHoles(*parsed, path, holes);
    size_t in_holes = 0;
    for (const Hole& hole : holes) in_holes += Placeholders(hole.text);
    if (in_holes == Placeholders(request_json)) {
      maker.parsed_ = std::move(parsed);
      maker.holes_ = std::move(holes);
    }
  }
  if (absl::StatusOr<std::string> probe = maker.MakeFromJson(0, 0); !probe.ok()) {
    return probe.status();
  }
  return maker;
}

void RequestMaker::FindHoles(const Message& message, std::vector<Step>& path,
                             std::vector<Hole>& holes) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    for (int i = 0; i < count; ++i) {
      path.push_back(Step{field, field->is_repeated() ? i : -1});
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
          field->type() == FieldDescriptor::TYPE_STRING) {
        std::string text = field->is_repeated() ? reflection->GetRepeatedString(message, field, i)
                                                : reflection->GetString(message, field);
        if (absl::StrContains(text, "{{")) holes.push_back(Hole{path, std::move(text)});
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        FindHoles(field->is_repeated() ? reflection->GetRepeatedMessage(message, field, i)
                                       : reflection->GetMessage(message, field),
                  path, holes);
      }
      path.pop_back();
    }
  }
}

std::string RequestMaker::Make(uint64_t seq, int slot) const {
  if (!templated_) return fixed_;
  if (parsed_ == nullptr) {
    // Create checked that the template renders and parses; a failure here is impossible.
    absl::StatusOr<std::string> bytes = MakeFromJson(seq, slot);
    return bytes.ok() ? *std::move(bytes) : std::string();
  }
  std::unique_ptr<Message> request(parsed_->New());
  request->CopyFrom(*parsed_);
  for (const Hole& hole : holes_) {
    Message* at = request.get();
    for (size_t i = 0; i + 1 < hole.path.size(); ++i) {
      const Step& step = hole.path[i];
      at = step.index < 0 ? at->GetReflection()->MutableMessage(at, step.field)
                          : at->GetReflection()->MutableRepeatedMessage(at, step.field, step.index);
    }
    const Step& last = hole.path.back();
    std::string value = Fill(hole.text, seq, slot);
    if (last.index < 0) {
      at->GetReflection()->SetString(at, last.field, std::move(value));
    } else {
      at->GetReflection()->SetRepeatedString(at, last.field, last.index, std::move(value));
    }
  }
  return request->SerializeAsString();
}

absl::StatusOr<std::string> RequestMaker::MakeFromJson(uint64_t seq, int slot) const {
  return Serialize(templated_ ? Fill(template_json_, seq, slot) : template_json_);
}

absl::StatusOr<std::string> RequestMaker::Serialize(const std::string& json) const {
  std::unique_ptr<Message> message(prototype_->New());
  auto status = google::protobuf::util::JsonStringToMessage(json, message.get());
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  return message->SerializeAsString();
}

}  // namespace dorset::bench
