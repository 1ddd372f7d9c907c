// A unary response's bytes as the JSON the gateway sends, kept per exact bytes. The JSON of a
// response is a pure function of its route and its serialized bytes, so a response seen before
// (a practice read again and again: the registry answers repeated reads with the same bytes from
// its reply cache) is sent without parsing it or printing it again: that parse and print were
// ~40k of the ~149k instructions the gateway spent on a REST GetPractice (callgrind, issue 14's
// bench). Nothing is invalidated: different bytes are a different key. Bounded: responses over
// kMaxEntryBytes are not kept, and once the kept bytes pass the budget the memo starts empty.
//
//   ResponseJsonMemo memo;
//   absl::StatusOr<std::string> json = memo.Render(route, result.response);
#ifndef DORSET_GATEWAY_RESPONSE_JSON_H_
#define DORSET_GATEWAY_RESPONSE_JSON_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gateway/routes.h"

namespace dorset::gateway {

// Parses `bytes` as `route`'s response message and prints it (ResponseToJson): INTERNAL when the
// bytes do not parse.
absl::StatusOr<std::string> RenderResponse(const Route& route, std::string_view bytes);

class ResponseJsonMemo {
 public:
  static constexpr size_t kMaxEntryBytes = 64 * 1024;
  explicit ResponseJsonMemo(size_t budget_bytes = 16 * 1024 * 1024) : budget_(budget_bytes) {}
  ResponseJsonMemo(const ResponseJsonMemo&) = delete;
  ResponseJsonMemo& operator=(const ResponseJsonMemo&) = delete;

  // RenderResponse(route, bytes), from the memo when these bytes of this route were rendered
  // before. Errors are not kept. Thread-safe.
  absl::StatusOr<std::string> Render(const Route& route, std::string_view bytes);

  // Entries kept (for tests).
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t budget_;
  mutable absl::Mutex mu_;
  // Key: the route's address, then the response bytes.
  absl::flat_hash_map<std::string, std::string> json_ ABSL_GUARDED_BY(mu_);
  size_t kept_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_RESPONSE_JSON_H_
