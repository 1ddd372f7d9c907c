// Debian's Abseil 20220623 is built with its own absl::string_view, which does not convert
// to or from std::string_view implicitly. These two helpers cross the line explicitly.
#ifndef DORSET_RUNTIME_BASE_STRING_VIEW_H_
#define DORSET_RUNTIME_BASE_STRING_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace dorset {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace dorset

#endif  // DORSET_RUNTIME_BASE_STRING_VIEW_H_
