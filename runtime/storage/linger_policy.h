// When the group committer's writer should wait a little for more jobs before starting a group
// (issue 16, docs/storage.md "Group commit: the linger").
//
// A group commit costs the same per group however few jobs it holds (BEGIN/COMMIT, the group's
// reads, an fdatasync of the WAL: ~400 us of CPU on the project's VM), so when writes come from
// several clients at once but only one or two are queued each time the writer looks, waiting a
// millisecond or two for the next one buys that cost back. When no other write is coming — a
// sequential client sends its next write only after the reply — the wait is pure latency. The
// policy therefore lingers only when there is evidence that it pays:
//
// - Concurrency seen: the target of a linger is the largest group of the last `window` groups
//   (capped at max_group). The writer lingers only while fewer jobs are queued than that, and stops
//   as soon as the queue reaches it. A sequential client's groups are always of one, so its target
//   is one and it is never made to wait, not even once to learn.
// - "Few": it lingers only when fewer than `few` jobs are queued; a larger group already shares its
//   fixed cost well (finance at 32 in flight, groups of ~13).
// - Success rate: each linger is remembered as caught (at least one job arrived during it) or not,
//   over the last `window` lingers. While fewer than half of them caught a job, the writer does not
//   linger, except for one probe every `probe_interval` (so a workload that changes is seen again).
//
// No clock of its own: the caller passes the time (tests pass a fake one). Not thread-safe: the
// committer's one writer thread owns it.
#ifndef DORSET_RUNTIME_STORAGE_LINGER_POLICY_H_
#define DORSET_RUNTIME_STORAGE_LINGER_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <deque>

#include "absl/time/time.h"

namespace dorset::runtime::storage {

struct LingerOptions {
  // The longest wait for more jobs; zero turns lingering off.
  absl::Duration max_linger = absl::ZeroDuration();
  // Linger only when fewer than this many jobs are queued.
  size_t few = 8;
  // Groups remembered for the target, and lingers remembered for the success rate.
  size_t window = 16;
  // While lingering does not pay, one linger at most this often (a probe).
  absl::Duration probe_interval = absl::Milliseconds(250);
};

class LingerPolicy {
 public:
  explicit LingerPolicy(LingerOptions options) : options_(options) {}

  struct Decision {
    bool linger = false;
    size_t until = 0;  // stop lingering once this many jobs are queued
    absl::Duration bound = absl::ZeroDuration();
  };
  // Whether to wait for more jobs, with `queued` jobs waiting now (at least one).
  Decision Decide(size_t queued, size_t max_group, absl::Time now);
  // The outcome of a linger Decide asked for: `caught` jobs arrived during it.
  void Lingered(size_t caught);
  // A group of `jobs` was taken (after any linger).
  void Took(size_t jobs);

  // The success rate's state (tests): lingers remembered and how many of them caught a job.
  size_t remembered() const { return outcomes_.size(); }
  size_t caught_recently() const { return caught_; }
  bool pays() const { return caught_ * 2 >= outcomes_.size(); }

 private:
  size_t Target(size_t max_group) const;

  const LingerOptions options_;
  std::deque<size_t> groups_;  // the last `window` groups' sizes
  std::deque<bool> outcomes_;  // the last `window` lingers: caught a job or not
  size_t caught_ = 0;          // how many of outcomes_ are true
  absl::Time last_linger_ = absl::InfinitePast();
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_LINGER_POLICY_H_
