// What GetReport builds from, kept across posting groups (issue 16, the mixed workload): a
// plan's tree and its ledger totals for one financial year (PlanData, as LoadPlanData reads it),
// per (plan, year). A posting group changes only totals, so the posting committer brings the
// kept figures up to date itself (ApplyGroup, with the totals its transaction wrote and the data
// version it committed) before any of its postings is acknowledged, instead of every report
// after every group reading the plan again. The same pattern as engagement's kept counts
// (services/engagement/domain/aggregates.h, Aggregates::ApplyGroup):
//
// - kept under FinanceStore::plan_generation (taken before the read): every write but a posting
//   group raises it (a plan edit, a target, a month's close), and so does the
//   DataVersionFollower when another replica or process wrote;
// - with the data version of the snapshot they were read in, raised by each group applied; a
//   group whose version is not the next one (a write in between that did not come here) drops
//   them, and so does a group whose commit is not known (committed or not);
// - a read is kept only when no group came through ApplyGroup after its snapshot and none came
//   without a version while it was read.
//
// So what a report is built from is always at least as new as every posting acknowledged before
// the report was asked for. Thread-safe.
#ifndef DORSET_SERVICES_FINANCE_STORAGE_PLAN_FIGURES_H_
#define DORSET_SERVICES_FINANCE_STORAGE_PLAN_FIGURES_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/report.h"
#include "services/finance/storage/store.h"

namespace dorset::finance {

class PlanFigures {
 public:
  explicit PlanFigures(FinanceStore& store) : store_(store) {}
  PlanFigures(const PlanFigures&) = delete;
  PlanFigures& operator=(const PlanFigures&) = delete;

  // The plan's nodes and its figures for `year` (LoadPlanData(store, plan, year)): the kept
  // ones while they hold, else read in one snapshot (and kept when they may be).
  absl::StatusOr<std::shared_ptr<const PlanData>> Load(const std::string& plan, int year);

  // A posting group committed (the posting committer, on its writer thread, after the commit and
  // before any of its calls is answered): `totals` the total rows its transaction wrote, each
  // with its new amount; `data_version` the data version it committed (nullopt: not known
  // whether it committed). See the file comment.
  void ApplyGroup(std::optional<uint64_t> data_version,
                  std::span<const std::pair<LedgerWriter::TotalKey, int64_t>> totals);

  // Plans' figures kept now (tests).
  size_t kept() {
    absl::MutexLock lock(&mu_);
    return kept_.size();
  }

 private:
  struct Kept {
    uint64_t generation = 0;
    uint64_t data_version = 0;
    std::shared_ptr<const PlanData> data;
    absl::flat_hash_set<int64_t> schemes;  // the ids of the plan's schemes (data.nodes)
  };
  static constexpr size_t kMaxKept = 64;  // all dropped when full

  FinanceStore& store_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::pair<std::string, int>, Kept> kept_ ABSL_GUARDED_BY(mu_);
  // The newest data version a group brought (a read of an older snapshot is not kept after it),
  // and the groups that came without one (a read that overlapped one is not kept).
  uint64_t applied_version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t groups_without_version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_PLAN_FIGURES_H_
