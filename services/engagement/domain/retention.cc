// Retention of stakeholders' contact details (retention.h).
#include "services/engagement/domain/retention.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "google/protobuf/util/time_util.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/retention_rows.h"

namespace dorset::engagement {

namespace {
// The method each erasure is audited under (the timer's too: it runs the same job).
constexpr std::string_view kRunMethod = "/dorset.engagement.v1.EngagementService/RunRetention";
}  // namespace

absl::Status Retention::Preview(const v1::PreviewRetentionRequest& request,
                                v1::RetentionPreview* out) {
  if (request.page_size() < 0 || request.page_size() > 1000) {
    return runtime::InvalidArgument("page_size", "must be 0 to 1000");
  }
  const int limit = request.page_size() == 0 ? 100 : request.page_size();
  // The token is the last stakeholder id of the previous page.
  const std::string& after = request.page_token();
  out->set_retention_days(absl::ToInt64Hours(period_) / 24);
  if (period_ <= absl::ZeroDuration()) return absl::OkStatus();
  const absl::Time cutoff = Cutoff();
  SetTimestamp(out->mutable_cutoff_time(), ToMicros(cutoff));
  ASSIGN_OR_RETURN(std::vector<RetentionRow> rows, engagement_.store().Read([&](StoreTx& tx) {
    return StakeholdersInactiveSince(tx, ToMicros(cutoff));
  }));
  out->set_total_candidates(static_cast<int64_t>(rows.size()));
  for (const RetentionRow& row : rows) {
    if (!after.empty() && row.stakeholder_id <= after) continue;
    if (out->candidates_size() == limit) {
      out->set_next_page_token(
          out->candidates(limit - 1).stakeholder().substr(sizeof("stakeholders/") - 1));
      break;
    }
    v1::RetentionCandidate* c = out->add_candidates();
    c->set_stakeholder(StakeholderName(row.stakeholder_id));
    SetTimestamp(c->mutable_last_activity_time(), row.last_activity_micros);
  }
  return absl::OkStatus();
}

absl::Status Retention::RunUnless(const runtime::Caller& caller,
                                  const v1::RunRetentionRequest& request, v1::RetentionRun* out,
                                  const std::atomic<bool>* stop) {
  if (request.limit() < 0) return runtime::InvalidArgument("limit", "must not be negative");
  if (period_ <= absl::ZeroDuration()) {
    return runtime::FailedPrecondition("RETENTION_OFF", "retention",
                                       "no retention period is configured");
  }
  // Held until the run returns; another replica's run meanwhile finds it taken.
  ASSIGN_OR_RETURN(auto lock, engagement_.store().TryLockAcrossReplicas(kLockName));
  // The cutoff is taken under the lock, so a run that waited behind another sees its erasures.
  const absl::Time cutoff = Cutoff();
  SetTimestamp(out->mutable_cutoff_time(), ToMicros(cutoff));
  if (lock == nullptr) return absl::OkStatus();  // ran = false: another replica is running it
  ASSIGN_OR_RETURN(std::vector<RetentionRow> rows, engagement_.store().Read([&](StoreTx& tx) {
    return StakeholdersInactiveSince(tx, ToMicros(cutoff));
  }));
  out->set_ran(true);
  for (const RetentionRow& row : rows) {
    if (request.limit() > 0 && out->erased_stakeholders_size() >= request.limit()) break;
    if (stop != nullptr && stop->load()) break;
    v1::EraseStakeholderRequest erase;
    erase.set_name(StakeholderName(row.stakeholder_id));
    v1::Stakeholder erased;
    RETURN_IF_ERROR(engagement_.stakeholders().EraseStakeholder(caller, erase, &erased));
    out->add_erased_stakeholders(erase.name());
    common::v1::AuditEvent event;
    event.set_principal(caller.principal);
    event.set_method(std::string(kRunMethod));
    event.set_resource(erase.name());
    event.set_action("WRITE");
    event.set_outcome("OK");
    engagement_.Audit(std::move(event));
  }
  return absl::OkStatus();
}

}  // namespace dorset::engagement
