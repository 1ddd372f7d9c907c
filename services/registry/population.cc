#include "services/registry/population.h"

#include <set>

#include "absl/strings/str_cat.h"

namespace dorset::registry {

void PopulationFigures::AddList(int64_t size, const std::string& date, bool active, bool moved) {
  // List sizes are at most 1,000,000 each (validated) and practices at most a few tens of
  // thousands, so these sums stay far below int64's range.
  registered_patients += size;
  if (active) active_registered_patients += size;
  if (moved) moved_in_patients += size;
  ++list_size_practices;
  if (!date.empty() && (earliest_date.empty() || date < earliest_date)) earliest_date = date;
  if (date > latest_date) latest_date = date;
}

void PopulationFigures::Merge(const PopulationFigures& other) {
  registered_patients += other.registered_patients;
  active_registered_patients += other.active_registered_patients;
  moved_in_patients += other.moved_in_patients;
  list_size_practices += other.list_size_practices;
  if (!other.earliest_date.empty() &&
      (earliest_date.empty() || other.earliest_date < earliest_date)) {
    earliest_date = other.earliest_date;
  }
  if (other.latest_date > latest_date) latest_date = other.latest_date;
}

v1::ListSizeVintage PopulationFigures::Vintage() const {
  v1::ListSizeVintage vintage;
  vintage.set_practices(list_size_practices);
  vintage.set_earliest_date(earliest_date);
  vintage.set_latest_date(latest_date);
  return vintage;
}

Populations Populations::Build(std::map<std::string, PracticeFacts> practices) {
  Populations result;
  result.practices_ = std::move(practices);
  for (const auto& [code, f] : result.practices_) {
    if (!f.list_size.has_value()) continue;
    std::optional<std::string> target;
    if (f.status == v1::Practice::STATUS_CLOSED) target = result.ActiveSuccessor(code);
    const Facts& home = target ? result.practices_.at(*target) : f;
    const bool active = target.has_value() || f.status == v1::Practice::STATUS_ACTIVE;
    const bool moved = target.has_value();
    if (!home.locality_id.empty()) {
      result.by_locality_[home.locality_id].AddList(*f.list_size, f.list_size_date, active, moved);
    }
    result.by_commissioner_[home.commissioner].AddList(*f.list_size, f.list_size_date, active,
                                                       moved);
    if (target) result.moves_.push_back({code, *target});
  }
  return result;
}

std::optional<std::string> Populations::ActiveSuccessor(const std::string& code) const {
  std::set<std::string> seen = {code};
  auto it = practices_.find(code);
  while (it != practices_.end() && it->second.status == v1::Practice::STATUS_CLOSED &&
         !it->second.successor_code.empty()) {
    const std::string& next = it->second.successor_code;
    if (!seen.insert(next).second) return std::nullopt;  // a cycle: no active end
    it = practices_.find(next);
    if (it == practices_.end()) return std::nullopt;
    if (it->second.status == v1::Practice::STATUS_ACTIVE) return it->first;
  }
  return std::nullopt;
}

PopulationFigures Populations::Locality(const std::string& locality_id) const {
  auto it = by_locality_.find(locality_id);
  return it == by_locality_.end() ? PopulationFigures() : it->second;
}

void Populations::FillSummary(const std::string& commissioner, v1::AreaSummary& summary) const {
  auto it = by_commissioner_.find(commissioner);
  const PopulationFigures figures = it == by_commissioner_.end() ? PopulationFigures() : it->second;
  summary.set_registered_patients(figures.registered_patients);
  summary.set_active_registered_patients(figures.active_registered_patients);
  *summary.mutable_list_sizes() = figures.Vintage();
  for (const Move& move : moves_) {
    const Facts& from = practices_.at(move.from_code);
    const Facts& to = practices_.at(move.to_code);
    if (from.commissioner != commissioner && to.commissioner != commissioner) continue;
    v1::AreaSummary::SuccessorMove* m = summary.add_successor_moves();
    m->set_from_practice(absl::StrCat("practices/", move.from_code));
    m->set_to_practice(absl::StrCat("practices/", move.to_code));
    m->set_list_size(*from.list_size);
    m->set_list_size_date(from.list_size_date);
    m->set_from_date(from.close_date);
  }
  int32_t active_without = 0, active_gp_without = 0, inactive_with = 0;
  for (const auto& [code, f] : practices_) {
    if (f.commissioner != commissioner) continue;
    if (f.status == v1::Practice::STATUS_ACTIVE && !f.list_size.has_value()) {
      ++active_without;
      if (f.prescribing_setting == 4) ++active_gp_without;
    }
    if (f.status != v1::Practice::STATUS_ACTIVE && f.list_size.has_value()) ++inactive_with;
  }
  summary.set_active_without_list_size_count(active_without);
  summary.set_active_gp_without_list_size_count(active_gp_without);
  summary.set_inactive_with_list_size_count(inactive_with);
}

}  // namespace dorset::registry
