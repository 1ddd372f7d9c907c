// The request checks of the plan API (plan_api_checks.h), kept apart from the calls and their
// protos (plan_api.cc).
#include "services/finance/api/plan_api_checks.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/etag.h"
#include "services/finance/api/plan_api.h"
#include "services/finance/calendar.h"
#include "services/finance/limits.h"

namespace dorset::finance {
namespace plan_api_internal {
namespace {

constexpr size_t kMaxDisplayName = 200;

}  // namespace

absl::Status CheckDisplayName(const std::string& name, std::string_view field) {
  if (name.empty()) return runtime::InvalidArgument(field, "required");
  if (name.size() > kMaxDisplayName) {
    return runtime::InvalidArgument(field, "longer than 200 bytes");
  }
  return absl::OkStatus();
}

// Registry names a scope may take: "" (whole system), localities/{id} or clusters/{id}.
absl::Status CheckScope(const std::string& scope, std::string_view field) {
  if (scope.empty()) return absl::OkStatus();
  std::vector<std::string> parts = absl::StrSplit(scope, '/');
  if (parts.size() == 2 && (parts[0] == "localities" || parts[0] == "clusters") &&
      !parts[1].empty() && parts[1].size() <= 63) {
    return absl::OkStatus();
  }
  return runtime::InvalidArgument(field, "a scope is empty, localities/{id} or clusters/{id}");
}

absl::StatusOr<YearAmounts> ParseTargets(
    const google::protobuf::RepeatedPtrField<v1::YearAmount>& targets, std::string_view field) {
  YearAmounts out;
  for (int i = 0; i < targets.size(); ++i) {
    const std::string path = absl::StrCat(ToAbsl(field), "[", i, "].financial_year");
    ASSIGN_OR_RETURN(int year, ParseFinancialYear(targets[i].financial_year(), path));
    if (!out.emplace(year, targets[i].amount().pence()).second) {
      return runtime::InvalidArgument(path, "a year appears twice");
    }
    RETURN_IF_ERROR(CheckAmountBound(targets[i].amount().pence(), kMaxTargetPence,
                                     absl::StrCat(ToAbsl(field), "[", i, "].amount"),
                                     "an annual target"));
  }
  return out;
}

absl::Status CheckUpdateMask(const google::protobuf::FieldMask& mask,
                             const std::set<std::string>& allowed) {
  if (mask.paths_size() == 0) return runtime::InvalidArgument("update_mask", "required");
  for (const std::string& path : mask.paths()) {
    if (!allowed.contains(path)) {
      return runtime::InvalidArgument("update_mask", absl::StrCat("cannot update \"", path, "\""));
    }
  }
  return absl::OkStatus();
}

bool MaskHas(const google::protobuf::FieldMask& mask, std::string_view path) {
  for (const std::string& p : mask.paths()) {
    if (p == path) return true;
  }
  return false;
}

// The enum values a stored attribute may take (an unknown number from a newer client is refused
// rather than stored).
absl::StatusOr<Recurrence> ParseRecurrence(int value, std::string_view field) {
  if (value < 0 || value > 2) {
    return runtime::InvalidArgument(field, "RECURRENT, NON_RECURRENT or unspecified");
  }
  return static_cast<Recurrence>(value);
}
absl::StatusOr<Maturity> ParseMaturity(int value, std::string_view field) {
  if (value < 0 || value > 4) {
    return runtime::InvalidArgument(
        field, "FULLY_DEVELOPED, IN_DELIVERY, OPPORTUNITY, UNIDENTIFIED or unspecified");
  }
  return static_cast<Maturity>(value);
}
absl::Status CheckOwner(const std::string& owner, std::string_view field) {
  if (owner.size() > kMaxDisplayName)
    return runtime::InvalidArgument(field, "longer than 200 bytes");
  return absl::OkStatus();
}
absl::StatusOr<SchemeAttributes> ParseAttributes(const v1::Scheme& in) {
  SchemeAttributes out;
  ASSIGN_OR_RETURN(out.recurrence, ParseRecurrence(in.recurrence(), "scheme.recurrence"));
  ASSIGN_OR_RETURN(out.maturity, ParseMaturity(in.maturity(), "scheme.maturity"));
  RETURN_IF_ERROR(CheckOwner(in.senior_responsible_owner(), "scheme.senior_responsible_owner"));
  out.senior_responsible_owner = in.senior_responsible_owner();
  return out;
}

// The version an etag names (nullopt when empty: an unconditional change).
absl::StatusOr<std::optional<int64_t>> ExpectedVersion(const std::string& etag,
                                                       std::string_view field) {
  if (etag.empty()) return std::optional<int64_t>();
  ASSIGN_OR_RETURN(int64_t version, runtime::storage::ParseEtag(etag, field));
  return std::optional<int64_t>(version);
}

}  // namespace plan_api_internal

absl::Status CheckResourceId(const std::string& id, std::string_view field) {
  bool ok = !id.empty() && id.size() <= 63 && id[0] >= 'a' && id[0] <= 'z';
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (!ok) return runtime::InvalidArgument(field, "an id is [a-z][a-z0-9-]{0,62}");
  return absl::OkStatus();
}

}  // namespace dorset::finance
