// What every part of the engagement domain shares: the store, the registry lookup, the page-token
// codec, the options (clock, reply budget, commissioner, retention), and the two checks more than
// one part makes (a locality against the registry, an activity's existence). The parts
// (stakeholders.h, activities.h, themes_decisions.h, responses.h, aggregates.h) each hold a
// reference to one context, owned by Engagement (engagement.h).
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_ENGAGEMENT_CONTEXT_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_ENGAGEMENT_CONTEXT_H_

#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "dorset/common/v1/audit.pb.h"
#include "runtime/api/page_token.h"
#include "runtime/api/reply_budget.h"
#include "services/engagement/domain/registry_lookup.h"
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
  // zero = kept until erased by hand. Zero here: the module takes the setting
  // engagement_retention_days (DORSET_ENGAGEMENT_RETENTION_DAYS).
  absl::Duration retention = absl::ZeroDuration();
  // How often the service runs retention by itself (retention_timer.h). Zero here: the module
  // takes engagement_retention_interval_seconds; tests inject a short one.
  absl::Duration retention_interval = absl::ZeroDuration();
  // Where the service's own writes (each retention erasure) go in the audit trail; the module
  // records them in the host's trail. Empty: not recorded (tests of the domain alone).
  std::function<void(common::v1::AuditEvent)> audit;
};

struct EngagementContext {
  // `registry` may be null: locality and practice are then checked for form only (development
  // without a registry; the server logs this at start).
  EngagementContext(EngagementStore& store, RegistryLookup* registry,
                    runtime::PageTokenCodec page_tokens, EngagementOptions options)
      : store(store),
        registry(registry),
        page_tokens(std::move(page_tokens)),
        options(std::move(options)) {}

  absl::Time Now() const { return options.now(); }
  // INVALID_ARGUMENT naming `field` unless `locality` is empty or localities/{id} known to the
  // registry (form only without one).
  absl::Status CheckLocalityField(const std::string& locality, std::string_view field) const;
  // NOT_FOUND unless the activity (id) exists.
  absl::Status CheckActivityExists(const std::string& activity);

  EngagementStore& store;
  RegistryLookup* const registry;
  const runtime::PageTokenCodec page_tokens;
  const EngagementOptions options;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_ENGAGEMENT_CONTEXT_H_
