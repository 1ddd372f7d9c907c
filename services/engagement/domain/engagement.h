// The engagement service's logic, independent of gRPC: stakeholders and their consents,
// activities and their lifecycle, themes, responses (with their counters), decisions, aggregates
// and "you said, we did". Every write is one transaction of the engagement store (SQLite or
// PostgreSQL, services/engagement/storage); every read applies the caller's
// redaction (personal data only for callers with Permission::kPersonalDataRead).
//
// Methods are grouped by resource in stakeholders.cc, activities.cc, themes_decisions.cc,
// responses.cc and aggregates.cc.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_ENGAGEMENT_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_ENGAGEMENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "google/protobuf/empty.pb.h"
#include "runtime/api/page_token.h"
#include "runtime/api/reply_budget.h"
#include "runtime/auth/caller.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/registry_lookup.h"
#include "services/engagement/storage/response_batch.h"
#include "services/engagement/storage/store.h"

namespace dorset::engagement {

struct EngagementOptions {
  // The clock (tests move it to check the open window).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Bytes of items one List page or export message may carry (runtime/api/reply_budget.h); the
  // module sets it from the server's max_message_bytes.
  size_t reply_bytes = runtime::ReplyByteBudget(4 * 1024 * 1024);
  // The commissioner (sub-ICB location) whose practices responses may name: NHS Dorset.
  std::string commissioner = "11J";
  // How long a stakeholder's contact details are kept after their last activity (retention.h);
  // zero = kept until erased by hand. The module reads DORSET_ENGAGEMENT_RETENTION_DAYS.
  absl::Duration retention = absl::ZeroDuration();
};

// A response checked for form and against the registry, ready to be written by the group-commit
// writer (which checks the rest against the store inside its transaction).
struct PendingResponse {
  std::string activity;        // id
  std::string request_id;      // "" when the client sent none
  std::string request_hash;    // RequestHash of the CreateResponseRequest
  std::string principal;       // the caller (the request_id is theirs: runtime/storage/idempotency)
  v1::Response response;       // normalised: locality resolved, names checked
  std::string stakeholder_id;  // "" when anonymous
  std::vector<std::string> theme_ids;
  // The response's time: when the server received it. Every time rule (the practice open on
  // its day, the activity's window) is judged at this instant, and it is the create_time.
  absl::Time time;
  // OK when response.practice is empty or one of the commissioner's practices open on the day
  // of `time`; otherwise the INVALID_ARGUMENT to answer unless the activity lists the practice
  // in allowed_practices (checked by the writer, which reads the activity).
  absl::Status practice_refusal;
};

class Engagement {
 public:
  // `registry` may be null: locality and practice are then checked for form only (development
  // without a registry; the server logs this at start).
  // No cache is taken: personal data is never cached (docs/cache-keys.md), and registry figures
  // are cached by the registry client behind `registry`.
  Engagement(EngagementStore& store, RegistryLookup* registry, runtime::PageTokenCodec page_tokens,
             EngagementOptions options = {});
  ~Engagement();

  // Writes the "Improving Dorset's Healthcare" consultation (2016-17) when the store has no
  // activities; a no-op otherwise (seed.cc).
  absl::Status SeedIfEmpty();

  // Writes `responses` (already checked: themes of `activity`, names well formed) straight into
  // the store in transactions of `batch` with their counters, bypassing the open-window check.
  // For the synthetic data generator's bulk load only; the activity must exist.
  absl::Status BulkLoadResponses(const std::string& activity,
                                 const std::vector<v1::Response>& responses);

  // Stakeholders.
  absl::Status CreateStakeholder(const runtime::Caller& caller,
                                 const v1::CreateStakeholderRequest& request, v1::Stakeholder* out);
  absl::Status GetStakeholder(const runtime::Caller& caller,
                              const v1::GetStakeholderRequest& request, v1::Stakeholder* out);
  absl::Status ListStakeholders(const runtime::Caller& caller,
                                const v1::ListStakeholdersRequest& request,
                                v1::ListStakeholdersResponse* out);
  absl::Status UpdateStakeholder(const runtime::Caller& caller,
                                 const v1::UpdateStakeholderRequest& request, v1::Stakeholder* out);
  absl::Status EraseStakeholder(const runtime::Caller& caller,
                                const v1::EraseStakeholderRequest& request, v1::Stakeholder* out);

  // Activities.
  absl::Status CreateActivity(const runtime::Caller& caller,
                              const v1::CreateActivityRequest& request, v1::Activity* out);
  absl::Status GetActivity(const v1::GetActivityRequest& request, v1::Activity* out);
  absl::Status ListActivities(const v1::ListActivitiesRequest& request,
                              v1::ListActivitiesResponse* out);
  absl::Status UpdateActivity(const v1::UpdateActivityRequest& request, v1::Activity* out);
  absl::Status OpenActivity(const v1::OpenActivityRequest& request, v1::Activity* out);
  absl::Status CloseActivity(const v1::CloseActivityRequest& request, v1::Activity* out);
  absl::Status PublishOutcome(const v1::PublishOutcomeRequest& request, v1::Activity* out);
  // Only while DRAFT and without responses; its themes and decisions go with it.
  absl::Status DeleteActivity(const v1::DeleteActivityRequest& request,
                              google::protobuf::Empty* out);

  // Themes and decisions.
  absl::Status CreateTheme(const runtime::Caller& caller, const v1::CreateThemeRequest& request,
                           v1::Theme* out);
  absl::Status GetTheme(const v1::GetThemeRequest& request, v1::Theme* out);
  absl::Status ListThemes(const v1::ListThemesRequest& request, v1::ListThemesResponse* out);
  absl::Status UpdateTheme(const v1::UpdateThemeRequest& request, v1::Theme* out);
  // Only while no response is tagged with it, no decision answers it and the outcome is not
  // published.
  absl::Status DeleteTheme(const v1::DeleteThemeRequest& request, google::protobuf::Empty* out);
  absl::Status CreateDecision(const runtime::Caller& caller,
                              const v1::CreateDecisionRequest& request, v1::Decision* out);
  absl::Status GetDecision(const v1::GetDecisionRequest& request, v1::Decision* out);
  absl::Status ListDecisions(const v1::ListDecisionsRequest& request,
                             v1::ListDecisionsResponse* out);
  absl::Status UpdateDecision(const v1::UpdateDecisionRequest& request, v1::Decision* out);
  // Only while not published.
  absl::Status DeleteDecision(const v1::DeleteDecisionRequest& request,
                              google::protobuf::Empty* out);

  // Responses. CreateResponse is PrepareResponse (no store access; registry checks) followed by
  // CommitResponse inside a write transaction (the group committer batches many).
  absl::StatusOr<PendingResponse> PrepareResponse(const runtime::Caller& caller,
                                                  const v1::CreateResponseRequest& request);
  // The response is written in its own savepoint of the batch's transaction: the value is its
  // own outcome (a refused one leaves nothing and does not sink the others). An error fails the
  // whole group (a serialization failure, deadlock or lost connection): returned from the
  // group's function, it runs the group again as a whole or refuses it, never swallowed per
  // response. Its counter cells are summed into the batch (written once before the commit).
  absl::StatusOr<absl::Status> CommitResponse(const PendingResponse& pending, v1::Response* out,
                                              ResponseBatch& batch);
  absl::Status GetResponse(const runtime::Caller& caller, const v1::GetResponseRequest& request,
                           v1::Response* out);
  absl::Status ListResponses(const runtime::Caller& caller, const v1::ListResponsesRequest& request,
                             v1::ListResponsesResponse* out);
  absl::Status UpdateResponse(const runtime::Caller& caller,
                              const v1::UpdateResponseRequest& request, v1::Response* out);
  // One page of an activity's responses after response id `after`, redacted for `caller`: at
  // most `limit` of them and at most `options.reply_bytes` (at least one). `more` says whether
  // responses remain after the page.
  struct ResponsePage {
    std::vector<v1::Response> responses;
    bool more = false;
  };
  absl::StatusOr<ResponsePage> ResponsesAfter(const runtime::Caller& caller,
                                              const std::string& activity, int64_t after,
                                              int limit);
  // NOT_FOUND unless the activity exists.
  absl::Status CheckActivityExists(const std::string& activity);

  // Aggregates and "you said, we did".
  absl::Status GetActivityAggregates(const v1::GetActivityAggregatesRequest& request,
                                     v1::ActivityAggregates* out);
  absl::Status GetYouSaidWeDid(const v1::GetYouSaidWeDidRequest& request, v1::YouSaidWeDid* out);

  // Redaction applied to everything returned to `caller`.
  static void RedactStakeholder(const runtime::Caller& caller, v1::Stakeholder& stakeholder);
  static void RedactResponse(const runtime::Caller& caller, v1::Response& response);

  absl::Time Now() const { return options_.now(); }
  absl::Duration retention() const { return options_.retention; }
  EngagementStore& store() { return store_; }

 private:
  // Applies a lifecycle step under the write lock.
  absl::Status Transition(const std::string& name, const std::string& etag, v1::ActivityState from,
                          v1::ActivityState to,
                          const std::function<absl::Status(v1::Activity&)>& apply,
                          v1::Activity* out);
  absl::Status WriteResponse(const PendingResponse& pending, v1::Response* out,
                             ResponseBatch& batch);
  absl::Status CheckLocalityField(const std::string& locality, const std::string& field);
  // INVALID_ARGUMENT (activity.allowed_practices[i]) for an entry the registry does not know;
  // the entries' form is checked before (ValidateActivityFields).
  absl::Status CheckAllowedPractices(const v1::Activity& activity);
  // INVALID_ARGUMENT (response.practice) unless `practice` is one of options_.commissioner's and
  // open on the day of `at` (the response's time, never the time of a later check).
  absl::Status CheckPracticeCovered(const PracticeFacts& practice, absl::Time at) const;

  EngagementStore& store_;
  RegistryLookup* registry_;
  runtime::PageTokenCodec page_tokens_;
  EngagementOptions options_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_ENGAGEMENT_H_
