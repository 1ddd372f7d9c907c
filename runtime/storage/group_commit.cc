#include "runtime/storage/group_commit.h"

#include <cstdlib>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "runtime/logging/log.h"
#include "runtime/sqlite/database.h"
#include "runtime/status/errors.h"

namespace dorset::runtime::storage {

GroupCommitBase::GroupCommitBase(const GroupCommitOptions& options) : options_(options) {
  if (options_.metrics == nullptr) return;
  if (!options_.group_size_metric.empty()) {
    group_size_ = &prometheus::BuildHistogram()
                       .Name(options_.group_size_metric)
                       .Help("Jobs committed together in one group-commit transaction")
                       .Register(*options_.metrics)
                       .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128,
                                                                        256, 512, 1024, 4096});
  }
  if (!options_.committed_metric.empty()) {
    committed_ = &prometheus::BuildCounter()
                      .Name(options_.committed_metric)
                      .Help("Jobs acknowledged after their group-commit transaction committed")
                      .Register(*options_.metrics)
                      .Add({});
  }
  if (!options_.lingers_metric.empty()) {
    lingers_ = &prometheus::BuildCounter()
                    .Name(options_.lingers_metric)
                    .Help("Times the group-commit writer waited for more jobs before a group")
                    .Register(*options_.metrics)
                    .Add({});
  }
  if (!options_.linger_caught_metric.empty()) {
    linger_caught_ = &prometheus::BuildCounter()
                          .Name(options_.linger_caught_metric)
                          .Help("Jobs that arrived while the group-commit writer lingered")
                          .Register(*options_.metrics)
                          .Add({});
  }
  if (!options_.commit_failures_metric.empty()) {
    failures_ = &prometheus::BuildCounter()
                     .Name(options_.commit_failures_metric)
                     .Help("Group-commit transactions that failed (nothing of them written)")
                     .Register(*options_.metrics)
                     .Add({});
  }
}

absl::Status GroupCommitBase::Refusal(bool full) const {
  // Bounded queue: under overload callers are told to back off instead of the server growing
  // without limit. Nothing was written, so the retry is safe.
  if (full) {
    return runtime::ResourceExhausted(
        absl::StrCat(options_.what, "'s queue is full; ", options_.retry_hint),
        absl::Milliseconds(50));
  }
  return absl::UnavailableError(
      absl::StrCat("the service is shutting down; ", options_.retry_hint));
}

absl::Status GroupCommitBase::GroupFailure(const absl::Status& cause) const {
  // A full disk stays RESOURCE_EXHAUSTED; every other failure is UNAVAILABLE: the group was
  // rolled back, so nothing was written and the retry is safe either way.
  absl::Status failed = runtime::sqlite::WriteFailure(
      cause,
      absl::StrCat(options_.what, " could not commit; nothing was written; ", options_.retry_hint));
  if (failed.code() != absl::StatusCode::kResourceExhausted) {
    failed = absl::UnavailableError(failed.message());
  }
  return failed;
}

void GroupCommitBase::Observe(size_t jobs, const absl::Status& committed, int64_t ok_jobs) {
  if (committed.ok()) {
    if (group_size_ != nullptr) group_size_->Observe(static_cast<double>(jobs));
    if (committed_ != nullptr) committed_->Increment(static_cast<double>(ok_jobs));
    return;
  }
  if (failures_ != nullptr) failures_->Increment();
  runtime::log::Error("group commit failed", {{"what", options_.what},
                                              {"jobs", static_cast<int64_t>(jobs)},
                                              {"error", std::string(committed.message())}});
}

void GroupCommitBase::ObserveLinger(size_t caught) {
  if (lingers_ != nullptr) lingers_->Increment();
  if (linger_caught_ != nullptr && caught > 0) {
    linger_caught_->Increment(static_cast<double>(caught));
  }
}

LingerOptions GroupCommitBase::Linger() const {
  LingerOptions linger{.max_linger = options_.linger};
  // DORSET_GROUP_LINGER=off turns the linger off for every committer of the process; a duration
  // ("1ms", "500us") sets its bound (A/B runs of the same build, bench/README.md session 15).
  const char* value = std::getenv("DORSET_GROUP_LINGER");
  if (value == nullptr || *value == '\0') return linger;
  absl::Duration bound;
  if (std::string_view(value) == "off") {
    linger.max_linger = absl::ZeroDuration();
  } else if (absl::ParseDuration(value, &bound) && bound >= absl::ZeroDuration() &&
             bound <= absl::Milliseconds(50)) {
    linger.max_linger = bound;
  } else {
    runtime::log::Warn("DORSET_GROUP_LINGER is neither off nor a duration up to 50ms; ignored",
                       {{"value", std::string(value)}});
  }
  return linger;
}

}  // namespace dorset::runtime::storage
