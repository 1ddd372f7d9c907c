// Caps on the repeated fields of requests. A request is checked by its item *counts* before any
// per-item work (validation, registry lookups, error messages per item), so a request naming
// 200,000 localities costs microseconds and gets one INVALID_ARGUMENT naming the field, instead
// of seconds of server time. Every repeated field at any depth is capped: by the service's
// documented limit for its path when it has one, else by kDefaultMaxRepeated.
//
//   constexpr runtime::RepeatedLimit kLimits[] = {{"activity.localities", 100}, ...};
//   RETURN_IF_ERROR(runtime::CheckRepeatedLimits(request, kLimits));
#ifndef DORSET_RUNTIME_API_REPEATED_LIMITS_H_
#define DORSET_RUNTIME_API_REPEATED_LIMITS_H_

#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace dorset::runtime {

// The cap for a repeated field no service names: the largest batch any method takes
// (BatchCreatePostings, 1,000 postings).
inline constexpr int kDefaultMaxRepeated = 1000;
// update_mask.paths: a mask names each updatable field at most once; no resource has 50.
inline constexpr int kMaxMaskPaths = 50;

struct RepeatedLimit {
  std::string_view path;  // AIP field path without indices, e.g. "decision.responses"
  int max_items;
};

// INVALID_ARGUMENT naming the first repeated field of `request` (depth first, any depth) with
// more items than allowed: its entry in `limits`, "update_mask.paths" kMaxMaskPaths, any other
// kDefaultMaxRepeated. Elements of a repeated message field are checked under the field's path.
absl::Status CheckRepeatedLimits(const google::protobuf::Message& request,
                                 std::span<const RepeatedLimit> limits = {});

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_API_REPEATED_LIMITS_H_
