// Finance-specific status helpers on top of runtime/status/errors.h.
#ifndef DORSET_SERVICES_FINANCE_FIELD_ERRORS_H_
#define DORSET_SERVICES_FINANCE_FIELD_ERRORS_H_

#include <string_view>

#include "absl/status/status.h"
#include "runtime/status/errors.h"

namespace dorset::finance {

// OUT_OF_RANGE carrying the same BadRequest field violation InvalidArgument would: an amount
// that would overflow 64-bit pence is a valid request the ledger cannot hold.
inline absl::Status OutOfRangeField(std::string_view field, std::string_view description) {
  const absl::Status base = runtime::InvalidArgument(field, description);
  absl::Status out(absl::StatusCode::kOutOfRange, base.message());
  base.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_FIELD_ERRORS_H_
