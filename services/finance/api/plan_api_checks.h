// The plan API's request checks (plan_api.h): display names, scopes, targets and their bounds,
// update masks, a scheme's attributes and etags, each refused with INVALID_ARGUMENT naming the
// field. Internal to the plan API: plan_api.cc checks each request with them before mapping it
// to the domain's records; the definitions are in plan_api_checks.cc.
//   RETURN_IF_ERROR(CheckDisplayName(in.display_name(), "scheme.display_name"));
//   ASSIGN_OR_RETURN(YearAmounts targets, ParseTargets(in.targets(), "scheme.targets"));
#ifndef DORSET_SERVICES_FINANCE_API_PLAN_API_CHECKS_H_
#define DORSET_SERVICES_FINANCE_API_PLAN_API_CHECKS_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "services/finance/domain/plan_records.h"

namespace dorset::finance::plan_api_internal {

// Required, at most 200 bytes.
absl::Status CheckDisplayName(const std::string& name, std::string_view field);
// Registry names a scope may take: "" (whole system), localities/{id} or clusters/{id}.
absl::Status CheckScope(const std::string& scope, std::string_view field);
// A year's target each (a year at most once), each within the target's bound.
absl::StatusOr<YearAmounts> ParseTargets(
    const google::protobuf::RepeatedPtrField<v1::YearAmount>& targets, std::string_view field);
// A mask that names at least one path, each of them in `allowed`.
absl::Status CheckUpdateMask(const google::protobuf::FieldMask& mask,
                             const std::set<std::string>& allowed);
bool MaskHas(const google::protobuf::FieldMask& mask, std::string_view path);
// The enum values a stored attribute may take (an unknown number from a newer client is refused
// rather than stored).
absl::StatusOr<Recurrence> ParseRecurrence(int value, std::string_view field);
absl::StatusOr<Maturity> ParseMaturity(int value, std::string_view field);
// At most 200 bytes.
absl::Status CheckOwner(const std::string& owner, std::string_view field);
// A new scheme's attributes (recurrence, maturity, senior responsible owner).
absl::StatusOr<SchemeAttributes> ParseAttributes(const v1::Scheme& in);
// The version an etag names (nullopt when empty: an unconditional change).
absl::StatusOr<std::optional<int64_t>> ExpectedVersion(const std::string& etag,
                                                       std::string_view field);

}  // namespace dorset::finance::plan_api_internal

#endif  // DORSET_SERVICES_FINANCE_API_PLAN_API_CHECKS_H_
