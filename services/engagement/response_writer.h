// Group commit for CreateResponse. Handlers hand checked responses to one writer thread, which
// writes whatever has queued up (up to a batch) in ONE transaction - one fsync for many
// responses - and only then completes each call (on a second thread, so sending the replies does
// not delay the next transaction). Each response sits in its own savepoint, so one
// refused response (activity just closed, unknown theme) does not sink the others, and a
// request_id repeated inside a batch sees the first write (same connection, same transaction).
#ifndef DORSET_SERVICES_ENGAGEMENT_RESPONSE_WRITER_H_
#define DORSET_SERVICES_ENGAGEMENT_RESPONSE_WRITER_H_

#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/engagement/engagement.h"

namespace prometheus {
class Counter;
class Histogram;
class Registry;
}  // namespace prometheus

namespace dorset::engagement {

class ResponseWriter {
 public:
  struct Job {
    PendingResponse pending;
    v1::Response* out;  // filled before `done` runs with OK
    std::function<void(const absl::Status&)> done;
  };

  // `metrics` (may be null) gets engagement_response_batch_size and
  // engagement_responses_committed_total (no labels: nothing about people).
  ResponseWriter(Engagement& engagement, prometheus::Registry* metrics, int max_batch = 512);
  // Writes what is queued, then stops the thread.
  ~ResponseWriter();
  ResponseWriter(const ResponseWriter&) = delete;
  ResponseWriter& operator=(const ResponseWriter&) = delete;

  // `done` runs on the writer thread after the transaction holding the response committed (or
  // with the error that refused it).
  void Submit(Job job);

 private:
  struct Finished {
    std::vector<Job> jobs;
    std::vector<absl::Status> results;
  };
  void Loop();
  void WriteBatch(std::vector<Job>& batch);
  void FinishLoop();

  Engagement& engagement_;
  prometheus::Histogram* batch_size_ = nullptr;
  prometheus::Counter* committed_ = nullptr;
  const int max_batch_;
  absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex done_mu_;
  std::deque<Finished> finished_ ABSL_GUARDED_BY(done_mu_);
  bool finisher_stopping_ ABSL_GUARDED_BY(done_mu_) = false;
  std::thread finisher_;  // runs the done callbacks
  std::thread thread_;    // the writer
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_RESPONSE_WRITER_H_
