// Aggregates (read from the counter cells, never from the responses) and "you said, we did".
#include "services/engagement/domain/aggregates.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/arena.h"
#include "runtime/api/enum_names.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/activity_rows.h"
#include "services/engagement/storage/counter_rows.h"
#include "services/engagement/storage/decision_rows.h"

namespace dorset::engagement {
namespace {

void AddCounts(const std::map<std::string, int64_t>& counts,
               google::protobuf::RepeatedPtrField<v1::Count>* out,
               const std::function<std::string(const std::string&)>& key_name) {
  for (const auto& [key, n] : counts) {
    v1::Count* c = out->Add();
    c->set_key(key_name(key));
    c->set_responses(n);
  }
}

std::string Identity(const std::string& key) { return key; }

}  // namespace

// responses * 1000 / patients, exact: the integer part and three decimals (rounded down) from
// integer arithmetic; a count above ~9.2e12 (impossible here) would saturate instead of wrap.
std::string PerThousand(int64_t responses, int64_t patients, int64_t* millis) {
  *millis = 0;
  if (patients <= 0 || responses < 0) return "";
  __int128 scaled = static_cast<__int128>(responses) * 1000000 / patients;
  if (scaled > INT64_MAX) scaled = INT64_MAX;
  *millis = static_cast<int64_t>(scaled);
  return absl::StrFormat("%d.%03d", *millis / 1000, *millis % 1000);
}

void Aggregates::Build(Kept& kept, const std::string& activity_id) {
  // On an arena (most of it on the stack): the message lives only to be serialised.
  char block[16 << 10];
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = sizeof(block);
  google::protobuf::Arena arena(options);
  auto* out = google::protobuf::Arena::CreateMessage<v1::ActivityAggregates>(&arena);
  CounterTable& cells = kept.cells;
  out->set_total_responses(cells.total);
  AddCounts(cells.by[kDimTheme], out->mutable_by_theme(),
            [&](const std::string& theme) { return ThemeName(activity_id, theme); });
  AddCounts(cells.by[kDimSentiment], out->mutable_by_sentiment(), Identity);
  AddCounts(cells.by[kDimChannel], out->mutable_by_channel(), Identity);
  AddCounts(cells.by[kDimLocality], out->mutable_by_locality(), Identity);
  // Participation for every locality with responses and every locality the activity covers.
  std::map<std::string, int64_t> localities = cells.by[kDimLocality];
  localities.erase("");
  for (const std::string& l : kept.localities) localities.try_emplace(l, 0);
  for (const auto& [locality, responses] : localities) {
    v1::LocalityParticipation* p = out->add_participation();
    p->set_locality(locality);
    p->set_responses(responses);
    // Unavailable (never a 0) unless the registry, or a copy within the cache policy's bound,
    // gives the figure (joined per call).
    p->set_registered_patients_available(false);
  }
  kept.bytes = std::make_shared<const std::string>(out->SerializeAsString());
}

absl::StatusOr<std::shared_ptr<const std::string>> Aggregates::StorePart(
    const std::string& activity_id) {
  const uint64_t generation = ctx_.store.activity_generation();  // before the read (store.h)
  uint64_t without_version = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = kept_.find(activity_id);
    if (it != kept_.end() && it->second.generation == generation) {
      // Built once per change of the counts, by the first reader after it.
      if (it->second.bytes == nullptr) Build(it->second, activity_id);
      return it->second.bytes;
    }
    without_version = groups_without_version_;
  }
  Kept read;
  read.generation = generation;
  v1::Activity activity;
  RETURN_IF_ERROR(ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(activity, LoadActivity(tx, activity_id));
    ASSIGN_OR_RETURN(read.cells, ReadCounterCells(tx, activity_id));
    // In the same snapshot as the cells: what ApplyGroup carries them on from.
    ASSIGN_OR_RETURN(read.data_version, EngagementStore::DataVersion(tx));
    return absl::OkStatus();
  }));
  read.localities.assign(activity.localities().begin(), activity.localities().end());
  Build(read, activity_id);
  std::shared_ptr<const std::string> built = read.bytes;
  absl::MutexLock lock(&mu_);
  // Not kept when a group came through ApplyGroup after this snapshot (it would be missing) or
  // without a version while it was read (it may or may not be in it).
  if (groups_without_version_ != without_version || read.data_version < applied_version_) {
    return built;
  }
  auto it = kept_.find(activity_id);
  if (it == kept_.end() && kept_.size() >= kMaxKept) kept_.clear();
  if (it == kept_.end()) {
    kept_.emplace(activity_id, std::move(read));
  } else if (it->second.generation < read.generation ||
             (it->second.generation == read.generation &&
              it->second.data_version < read.data_version)) {
    // A reader that started later may have kept a newer one: the newest is kept.
    it->second = std::move(read);
  }
  keeps_counts_.store(true, std::memory_order_release);
  return built;
}

void Aggregates::ApplyGroup(std::optional<uint64_t> data_version, const CounterSums& sums) {
  std::vector<std::shared_ptr<const std::string>> released;  // dropped after the lock
  absl::MutexLock lock(&mu_);
  if (kept_.empty() && data_version.has_value()) {
    applied_version_ = std::max(applied_version_, *data_version);
    return;
  }
  if (!data_version.has_value()) {
    ++groups_without_version_;
    for (auto& [id, kept] : kept_) released.push_back(std::move(kept.bytes));
    kept_.clear();
    keeps_counts_.store(false, std::memory_order_release);
    return;
  }
  const uint64_t version = *data_version;
  applied_version_ = std::max(applied_version_, version);
  for (auto it = kept_.begin(); it != kept_.end();) {
    const std::string& activity = it->first;
    Kept& kept = it->second;
    if (kept.data_version >= version) {  // read after the commit: the group is in it
      ++it;
      continue;
    }
    if (kept.data_version + 1 != version) {  // a write in between that did not come here
      released.push_back(std::move(kept.bytes));
      kept_.erase(it++);
      continue;
    }
    kept.data_version = version;
    // The group's cells of this activity (the sums are ordered by activity first).
    for (auto cell = sums.lower_bound({activity, "", ""});
         cell != sums.end() && std::get<0>(cell->first) == activity; ++cell) {
      const auto& [unused, dimension, key] = cell->first;
      const int64_t delta = cell->second;
      if (delta == 0) continue;
      if (kept.bytes != nullptr) released.push_back(std::move(kept.bytes));
      kept.bytes = nullptr;
      if (dimension == kDimTotal) {
        kept.cells.total += delta;
        continue;
      }
      // As ReadCounterCells reads them: the non-zero cells.
      std::map<std::string, int64_t>& by = kept.cells.by[dimension];
      if ((by[key] += delta) == 0) by.erase(key);
    }
    ++it;
  }
  keeps_counts_.store(!kept_.empty(), std::memory_order_release);
}

absl::Status Aggregates::GetActivityAggregates(const v1::GetActivityAggregatesRequest& request,
                                               v1::ActivityAggregates* out) {
  ASSIGN_OR_RETURN(std::string activity_id,
                   ParseActivitySingleton(request.name(), "aggregates", "name"));
  ASSIGN_OR_RETURN(std::shared_ptr<const std::string> store_part, StorePart(activity_id));
  if (!out->ParseFromString(*store_part)) return absl::InternalError("kept aggregates unreadable");
  out->set_name(request.name());
  if (ctx_.registry == nullptr) return absl::OkStatus();
  for (v1::LocalityParticipation& p : *out->mutable_participation()) {
    const std::string& locality = p.locality();
    absl::StatusOr<RegistryFigure> patients = ctx_.registry->LocalityRegisteredPatients(locality);
    if (!patients.ok()) {
      // The counts still answer; the figure is marked unavailable and the gap logged (names only).
      runtime::log::Warn(
          "registry population unavailable",
          {{"locality", locality}, {"code", absl::StatusCodeToString(patients.status().code())}});
      continue;
    }
    p.set_registered_patients_available(true);
    p.set_registered_patients(patients->value);
    p.set_registered_patients_stale(patients->stale);
    SetTimestamp(p.mutable_registered_patients_time(), absl::ToUnixMicros(patients->as_of));
    int64_t millis = 0;
    p.set_per_thousand(PerThousand(p.responses(), patients->value, &millis));
    p.set_per_thousand_millis(millis);
  }
  return absl::OkStatus();
}

absl::Status Aggregates::GetActivityAggregatesBytes(
    const v1::GetActivityAggregatesRequest& request,
    runtime::SerializedReply<v1::ActivityAggregates>* out) {
  if (ctx_.registry != nullptr) {
    v1::ActivityAggregates aggregates;
    RETURN_IF_ERROR(GetActivityAggregates(request, &aggregates));
    out->bytes = aggregates.SerializeAsString();
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string activity_id,
                   ParseActivitySingleton(request.name(), "aggregates", "name"));
  ASSIGN_OR_RETURN(std::shared_ptr<const std::string> store_part, StorePart(activity_id));
  // The name is field 1 and the store part has none: its field, then the store part's fields
  // in their order, is what serialising the whole reply gives.
  v1::ActivityAggregates name;
  name.set_name(request.name());
  out->bytes = name.SerializeAsString();
  out->bytes.append(*store_part);
  return absl::OkStatus();
}

absl::Status Aggregates::GetYouSaidWeDid(const v1::GetYouSaidWeDidRequest& request,
                                         v1::YouSaidWeDid* out) {
  ASSIGN_OR_RETURN(std::string activity_id,
                   ParseActivitySingleton(request.name(), "youSaidWeDid", "name"));
  v1::Activity activity;
  CounterTable cells;
  std::vector<std::string> decision_ids;
  {
    // One lease for the reads below; released before GetDecision/ListThemes take their own.
    RETURN_IF_ERROR(ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(activity, LoadActivity(tx, activity_id));
      if (activity.state() != v1::ACTIVITY_STATE_OUTCOME_PUBLISHED) {
        return runtime::FailedPrecondition(
            "STATE", activity.name(),
            absl::StrCat("the outcome is not published (the activity is ",
                         runtime::EnumShortName(activity.state()), ")"));
      }
      ASSIGN_OR_RETURN(cells, ReadCounterCells(tx, activity_id));
      ASSIGN_OR_RETURN(decision_ids, PublishedDecisionIds(tx, activity_id, /*limit=*/1000));
      return absl::OkStatus();
    }));
  }
  out->set_name(request.name());
  out->set_activity_title(activity.title());
  out->set_outcome_summary(activity.outcome_summary());
  out->set_total_responses(cells.total);
  out->set_reported_participants(activity.reported_participants());

  // Published decisions (the first 1000), matched to the themes they answer.
  std::vector<v1::Decision> decisions;
  for (const std::string& id : decision_ids) {
    v1::GetDecisionRequest get;
    get.set_name(DecisionName(activity_id, id));
    v1::Decision d;
    RETURN_IF_ERROR(coding_frame_.GetDecision(get, &d));
    decisions.push_back(std::move(d));
  }
  const auto& theme_sentiment = cells.by[kDimThemeSentiment];
  v1::ListThemesRequest themes_request;
  themes_request.set_parent(activity.name());
  themes_request.set_page_size(500);
  while (true) {
    v1::ListThemesResponse themes;
    RETURN_IF_ERROR(coding_frame_.ListThemes(themes_request, &themes));
    for (const v1::Theme& theme : themes.themes()) {
      const std::string theme_id = theme.name().substr(theme.name().rfind('/') + 1);
      auto* outcome = out->add_themes();
      *outcome->mutable_theme() = theme;
      auto count = cells.by[kDimTheme].find(theme_id);
      outcome->set_responses(count == cells.by[kDimTheme].end() ? 0 : count->second);
      const std::string prefix = absl::StrCat(theme_id, "/");
      for (auto it = theme_sentiment.lower_bound(prefix);
           it != theme_sentiment.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        v1::Count* c = outcome->add_by_sentiment();
        c->set_key(it->first.substr(prefix.size()));
        c->set_responses(it->second);
      }
      // How far the decisions answering the theme have got (issue 17: "we did" is a promise).
      std::map<std::string, int64_t> by_status;
      int64_t percent_sum = 0;
      for (const v1::Decision& d : decisions) {
        if (std::find(d.themes().begin(), d.themes().end(), theme.name()) != d.themes().end()) {
          *outcome->add_decisions() = d;
          ++by_status[runtime::EnumShortName(d.delivery().status())];
          percent_sum += d.delivery().percent_complete();
        }
      }
      for (const auto& [status, n] : by_status) {
        v1::Count* c = outcome->add_decisions_by_delivery_status();
        c->set_key(status);
        c->set_responses(n);
      }
      if (outcome->decisions_size() > 0) {
        outcome->set_percent_complete(
            static_cast<int32_t>(percent_sum / outcome->decisions_size()));
      }
    }
    if (themes.next_page_token().empty()) break;
    themes_request.set_page_token(themes.next_page_token());
  }
  for (const v1::Decision& d : decisions) {
    if (d.themes().empty()) *out->add_other_decisions() = d;
  }
  return absl::OkStatus();
}

}  // namespace dorset::engagement
