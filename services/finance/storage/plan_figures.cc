// Plans' figures kept across posting groups (plan_figures.h).
#include "services/finance/storage/plan_figures.h"

#include <algorithm>
#include <vector>

#include "runtime/status/status_macros.h"
#include "services/finance/storage/schema.h"

namespace dorset::finance {

absl::StatusOr<std::shared_ptr<const PlanData>> PlanFigures::Load(const std::string& plan,
                                                                  int year) {
  const uint64_t generation = store_.plan_generation();  // before the read (store.h)
  const std::pair<std::string, int> key(plan, year);
  uint64_t without_version = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = kept_.find(key);
    if (it != kept_.end() && it->second.generation == generation) return it->second.data;
    without_version = groups_without_version_;
  }
  Kept read;
  read.generation = generation;
  PlanData data;
  RETURN_IF_ERROR(store_.Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(data, LoadPlanDataIn(tx, plan, year));
    // In the same snapshot as the figures: what ApplyGroup carries them on from.
    ASSIGN_OR_RETURN(read.data_version, FinanceStore::DataVersion(tx));
    return absl::OkStatus();
  }));
  for (const PlanNode& node : data.nodes) {
    if (node.kind == kNodeScheme) read.schemes.insert(node.id);
  }
  read.data = std::make_shared<const PlanData>(std::move(data));
  std::shared_ptr<const PlanData> out = read.data;
  std::shared_ptr<const PlanData> released;  // dropped after the lock
  absl::MutexLock lock(&mu_);
  // Not kept when a group came through ApplyGroup after this snapshot (it would be missing) or
  // without a version while it was read (it may or may not be in it).
  if (groups_without_version_ != without_version || read.data_version < applied_version_) {
    return out;
  }
  auto it = kept_.find(key);
  if (it == kept_.end() && kept_.size() >= kMaxKept) kept_.clear();
  if (it == kept_.end()) {
    kept_.emplace(key, std::move(read));
  } else if (it->second.generation < read.generation ||
             (it->second.generation == read.generation &&
              it->second.data_version < read.data_version)) {
    // A reader that started later may have kept a newer one: the newest is kept.
    released = std::move(it->second.data);
    it->second = std::move(read);
  }
  return out;
}

void PlanFigures::ApplyGroup(std::optional<uint64_t> data_version,
                             std::span<const std::pair<LedgerWriter::TotalKey, int64_t>> totals) {
  std::vector<std::shared_ptr<const PlanData>> released;  // dropped after the lock
  absl::MutexLock lock(&mu_);
  if (!data_version.has_value()) {
    ++groups_without_version_;
    for (auto& [key, kept] : kept_) released.push_back(std::move(kept.data));
    kept_.clear();
    return;
  }
  const uint64_t version = *data_version;
  applied_version_ = std::max(applied_version_, version);
  for (auto it = kept_.begin(); it != kept_.end();) {
    const int year = it->first.second;
    Kept& kept = it->second;
    if (kept.data_version >= version) {  // read after the commit: the group is in it
      ++it;
      continue;
    }
    if (kept.data_version + 1 != version) {  // a write in between that did not come here
      released.push_back(std::move(kept.data));
      kept_.erase(it++);
      continue;
    }
    kept.data_version = version;
    std::shared_ptr<PlanData> changed;  // a copy (readers may hold the kept one)
    for (const auto& [total, amount] : totals) {
      if (total.year != year || total.month < 1 || total.month > 12 || total.kind < 1 ||
          total.kind > 3) {
        continue;  // as LoadPlanDataIn reads them
      }
      if (!kept.schemes.contains(total.scheme_id) &&
          !kept.data->figures.contains(total.scheme_id)) {
        continue;  // another plan's scheme
      }
      if (changed == nullptr) changed = std::make_shared<PlanData>(*kept.data);
      changed->figures[total.scheme_id][total.year].monthly[total.kind][total.month] = amount;
    }
    if (changed != nullptr) {
      released.push_back(std::move(kept.data));
      kept.data = std::move(changed);
    }
    ++it;
  }
}

}  // namespace dorset::finance
