// A batch of completions on one thread (issue 16). A thread that completes many calls in a row
// (a group committer finishing the jobs of one committed group) opens a CompletionBatch around
// the loop; code reached from each completion that would otherwise wake another thread once per
// call (the audit log, waking its writer for every recorded event) can instead defer one action
// to the end of the batch and do the work there, on this thread, for the whole batch at once.
//
//   {
//     CompletionBatch batch;                    // on the completing thread
//     for (Job& job : group) job.done(status);  // may call CompletionBatch::Current()->Defer(...)
//   }                                           // deferred actions run here, in order
//
// Header only, one per thread (batches nest: an inner one runs its own actions when it closes).
// Deferred actions run after the batch is no longer current, so work they do (replies they
// release) does not defer again into the batch that is closing.
#ifndef DORSET_RUNTIME_BASE_COMPLETION_BATCH_H_
#define DORSET_RUNTIME_BASE_COMPLETION_BATCH_H_

#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace dorset::runtime {

class CompletionBatch {
 public:
  CompletionBatch() : outer_(current_) { current_ = this; }
  ~CompletionBatch() {
    current_ = outer_;
    // An action may not add to this batch (it is no longer current), so the list is final.
    for (Deferred& d : deferred_) d.action();
  }
  CompletionBatch(const CompletionBatch&) = delete;
  CompletionBatch& operator=(const CompletionBatch&) = delete;

  // The batch open on this thread, or null.
  static CompletionBatch* Current() { return current_; }

  // Runs `action` when the batch closes, once per `key` (the first action given for a key is
  // kept). True when the key was new to this batch.
  bool Defer(const void* key, absl::AnyInvocable<void()> action) {
    for (const Deferred& d : deferred_) {
      if (d.key == key) return false;
    }
    deferred_.push_back({key, std::move(action)});
    return true;
  }

 private:
  struct Deferred {
    const void* key;
    absl::AnyInvocable<void()> action;
  };
  static inline thread_local CompletionBatch* current_ = nullptr;
  CompletionBatch* const outer_;
  std::vector<Deferred> deferred_;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_BASE_COMPLETION_BATCH_H_
