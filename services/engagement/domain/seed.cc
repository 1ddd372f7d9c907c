// The seed: NHS Dorset's "Improving Dorset's Healthcare" consultation on the Clinical Services
// Review (1 December 2016 - 28 February 2017; over 18,500 people gave their views; the governing
// body decided in September 2017), written once when the store has no activities.
//
// The activity's dates and the participation figure are the published ones. The themes and
// decisions are ILLUSTRATIVE (marked so in every title) so "you said, we did" has something to
// show; they are not the consultation's published analysis. No responses are invented: the
// 18,500 is recorded as reported_participants, not as rows.
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "runtime/logging/log.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/engagement.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/activity_rows.h"
#include "services/engagement/storage/decision_rows.h"
#include "services/engagement/storage/theme_rows.h"

namespace dorset::engagement {
namespace {

constexpr char kActivityId[] = "improving-dorsets-healthcare";

int64_t Utc(int y, int m, int d) {
  return ToMicros(absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone()));
}

struct SeedTheme {
  const char* id;
  const char* title;
  const char* description;
};

constexpr SeedTheme kThemes[] = {
    {"hospital-roles", "[Illustrative] Roles of the three acute hospitals",
     "Views on one major emergency hospital and one major planned-care hospital in the east of "
     "Dorset, with Dorset County Hospital keeping emergency services in the west."},
    {"travel-and-access", "[Illustrative] Travel times and access",
     "Concerns about journey times, public transport and ambulance times to specialist care."},
    {"community-hospitals", "[Illustrative] Community hospitals and care closer to home",
     "Views on community hubs, beds moving into the community and local services."},
    {"maternity-and-children", "[Illustrative] Maternity and children's services",
     "Views on where births and children's inpatient care should be provided."},
};

struct SeedDecision {
  const char* id;
  const char* summary;
  const char* rationale;
  std::vector<const char*> themes;
};

}  // namespace

absl::Status Engagement::SeedIfEmpty() {
  return context_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool any, AnyActivity(tx));
    if (any) return absl::OkStatus();

    const int64_t created = ToMicros(context_.Now());
    v1::Activity a;
    a.set_kind(v1::ACTIVITY_KIND_CONSULTATION);
    a.set_title("Improving Dorset's Healthcare");
    a.set_purpose(
        "Public consultation on the Clinical Services Review: proposals for acute hospital, "
        "community hospital and community services across Dorset.");
    a.set_state(v1::ACTIVITY_STATE_OUTCOME_PUBLISHED);
    SetTimestamp(a.mutable_window_start_time(), Utc(2016, 12, 1));
    SetTimestamp(a.mutable_window_end_time(), Utc(2017, 3, 1));
    SetTimestamp(a.mutable_open_time(), Utc(2016, 12, 1));
    SetTimestamp(a.mutable_close_time(), Utc(2017, 2, 28));
    SetTimestamp(a.mutable_publish_time(), Utc(2017, 9, 20));
    a.set_outcome_summary(
        "The CCG governing body made its decision on the proposals in September 2017 after "
        "considering the consultation feedback. [Seed data: the themes and decisions recorded "
        "under this activity are illustrative, not the published analysis.]");
    a.set_reported_participants(18500);
    a.set_reported_source(
        "NHS Dorset CCG: over 18,500 people gave their views during the consultation "
        "(December 2016 - February 2017). Responses were not captured in this service.");
    SetTimestamp(a.mutable_create_time(), created);
    SetTimestamp(a.mutable_update_time(), created);
    RETURN_IF_ERROR(SaveActivity(tx, kActivityId, a, 1, /*insert=*/true));

    for (const SeedTheme& seed : kThemes) {
      v1::Theme theme;
      theme.set_display_name(seed.title);
      theme.set_description(seed.description);
      SetTimestamp(theme.mutable_create_time(), created);
      SetTimestamp(theme.mutable_update_time(), created);
      RETURN_IF_ERROR(SaveTheme(tx, kActivityId, seed.id, theme, 1, /*insert=*/true));
    }
    const SeedDecision decisions[] = {
        {"acute-reconfiguration",
         "[Illustrative] Proceed with the proposed roles for the acute hospitals in the east of "
         "Dorset, keeping Dorset County Hospital's emergency department.",
         "Illustrative rationale: clinical evidence on outcomes from specialist centres weighed "
         "against the travel concerns raised in the consultation.",
         {"hospital-roles", "travel-and-access"}},
        {"community-services",
         "[Illustrative] Develop community hubs and move care closer to home in stages.",
         "Illustrative rationale: responses favoured local access; changes are phased with local "
         "engagement.",
         {"community-hospitals"}},
        {"maternity-and-children",
         "[Illustrative] Keep the maternity and children's proposals under review with clinicians "
         "and families.",
         "Illustrative rationale: responses asked for more detail before change.",
         {"maternity-and-children"}},
    };
    for (const SeedDecision& seed : decisions) {
      v1::Decision decision;
      decision.set_summary(seed.summary);
      decision.set_rationale(seed.rationale);
      decision.set_decided_by("NHS Dorset CCG Governing Body");
      SetTimestamp(decision.mutable_decide_time(), Utc(2017, 9, 20));
      decision.set_published(true);
      SetTimestamp(decision.mutable_create_time(), created);
      SetTimestamp(decision.mutable_update_time(), created);
      const std::vector<std::string> themes(seed.themes.begin(), seed.themes.end());
      RETURN_IF_ERROR(
          SaveDecision(tx, kActivityId, seed.id, decision, themes, {}, 1, /*insert=*/true));
    }
    runtime::log::Info("seeded", {{"activity", ActivityName(kActivityId)}});
    return absl::OkStatus();
  });
}

}  // namespace dorset::engagement
