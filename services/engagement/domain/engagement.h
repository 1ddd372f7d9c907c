// The engagement service's logic, independent of gRPC, as small parts with one job each over one
// shared context (engagement_context.h: the store, the registry lookup, page tokens, options):
// stakeholders and their consents (stakeholders.h), activities and their lifecycle
// (activities.h), themes and decisions (themes_decisions.h), responses with their counters
// (responses.h), aggregates and "you said, we did" (aggregates.h). Every write is one
// transaction of the engagement store (SQLite or PostgreSQL, services/engagement/storage, where
// all the SQL is); every read applies the caller's redaction (personal data only for callers
// with Permission::kPersonalDataRead). Engagement owns the context and the parts, and seeds.
//
//   Engagement engagement(*store, registry, std::move(tokens), options);
//   RETURN_IF_ERROR(engagement.activities().CreateActivity(caller, request, &activity));
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_ENGAGEMENT_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_ENGAGEMENT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/api/page_token.h"
#include "services/engagement/domain/activities.h"
#include "services/engagement/domain/aggregates.h"
#include "services/engagement/domain/engagement_context.h"
#include "services/engagement/domain/registry_lookup.h"
#include "services/engagement/domain/responses.h"
#include "services/engagement/domain/stakeholders.h"
#include "services/engagement/domain/themes_decisions.h"
#include "services/engagement/storage/store.h"

namespace dorset::engagement {

class Engagement {
 public:
  // `registry` may be null: locality and practice are then checked for form only (development
  // without a registry; the server logs this at start).
  // No cache is taken: personal data is never cached (docs/cache-keys.md), registry figures are
  // cached by the registry client behind `registry`, and the replies kept per store generation
  // hold no personal data (the service's GetActivity and GetActivityAggregates, Aggregates).
  Engagement(EngagementStore& store, RegistryLookup* registry, runtime::PageTokenCodec page_tokens,
             EngagementOptions options = {});
  ~Engagement();
  Engagement(const Engagement&) = delete;
  Engagement& operator=(const Engagement&) = delete;

  // Writes the "Improving Dorset's Healthcare" consultation (2016-17) when the store has no
  // activities; a no-op otherwise (seed.cc).
  absl::Status SeedIfEmpty();

  // Writes `responses` (already checked: themes of `activity`, names well formed) straight into
  // the store in transactions of `batch` with their counters, bypassing the open-window check.
  // For the synthetic data generator's bulk load only; the activity must exist.
  absl::Status BulkLoadResponses(const std::string& activity,
                                 const std::vector<v1::Response>& responses);

  Stakeholders& stakeholders() { return stakeholders_; }
  Activities& activities() { return activities_; }
  ThemesAndDecisions& themes_and_decisions() { return themes_and_decisions_; }
  Responses& responses() { return responses_; }
  Aggregates& aggregates() { return aggregates_; }

  // NOT_FOUND unless the activity exists.
  absl::Status CheckActivityExists(const std::string& activity) {
    return context_.CheckActivityExists(activity);
  }
  absl::Time Now() const { return context_.Now(); }
  absl::Duration retention() const { return context_.options.retention; }
  // Records `event` in the audit trail (EngagementOptions::audit), when there is one.
  void Audit(common::v1::AuditEvent event) const {
    if (context_.options.audit) context_.options.audit(std::move(event));
  }
  EngagementStore& store() { return context_.store; }

 private:
  EngagementContext context_;
  Stakeholders stakeholders_{context_};
  Activities activities_{context_};
  ThemesAndDecisions themes_and_decisions_{context_};
  Responses responses_{context_};
  Aggregates aggregates_{context_, themes_and_decisions_};
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_ENGAGEMENT_H_
