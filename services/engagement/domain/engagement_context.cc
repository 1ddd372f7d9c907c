#include "services/engagement/domain/engagement_context.h"

#include "runtime/status/errors.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/storage/activity_rows.h"

namespace dorset::engagement {

absl::Status EngagementContext::CheckLocalityField(const std::string& locality,
                                                   std::string_view field) const {
  if (locality.empty()) return absl::OkStatus();
  if (!IsLocalityName(locality)) return runtime::InvalidArgument(field, "must be localities/{id}");
  if (registry == nullptr) return absl::OkStatus();
  absl::Status status = registry->CheckLocality(locality);
  if (absl::IsNotFound(status)) {
    return runtime::InvalidArgument(field, "no such locality in the registry");
  }
  if (!status.ok()) return runtime::Annotate(status, "registry");
  return absl::OkStatus();
}

absl::Status EngagementContext::CheckActivityExists(const std::string& activity) {
  return store.Read(
      [&](StoreTx& tx) -> absl::Status { return LoadActivity(tx, activity).status(); });
}

}  // namespace dorset::engagement
