// StreamWriter: the one base for server-streaming reactors, so the end of a stream is handled in
// one place. gRPC frees a reactor (OnDone) and lets Server::Wait() return only after Finish()
// was called exactly once; a reactor that misses Finish on some path leaks and blocks shutdown
// for ever. The rules it keeps:
//   - at most one write in flight; a subclass writes only from ProduceLocked();
//   - an end asked for while a write is in flight (OnCancel, shutdown, an error) is kept and
//     Finish()ed when that write completes, whether it succeeded or not (a cancelled call
//     completes its write with ok=false, and that must still finish the call);
//   - Finish() is called outside the lock and `this` is not touched afterwards, because OnDone
//     (which deletes the reactor) may run on another thread as soon as Finish() is called;
//   - the call is observed (stream_call.h): the reactor takes its StreamCall when made, finishes
//     through it (an audited call's status waits for its event) and ends it in OnDone.
//
//   class Feed final : public StreamWriter<Item> {
//     Feed() { Resume(); }                       // start producing
//     void ProduceLocked() override { ... WriteLocked(&item_) or EndLocked(status) or wait }
//   };                                            // call Resume() when more data may be ready
#ifndef DORSET_RUNTIME_SERVER_STREAM_WRITER_H_
#define DORSET_RUNTIME_SERVER_STREAM_WRITER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"
#include "runtime/server/stream_call.h"

namespace dorset::runtime {

// Server-streaming reactors alive in this process (created and not yet freed by OnDone).
// Tests use it to prove that cancelled streams are freed.
inline std::atomic<int64_t>& LiveStreamWriters() {
  static std::atomic<int64_t> count{0};
  return count;
}

template <typename Response>
class StreamWriter : public grpc::ServerWriteReactor<Response> {
 public:
  StreamWriter() : call_(StreamCall::Adopt()) { LiveStreamWriters().fetch_add(1); }
  ~StreamWriter() override { LiveStreamWriters().fetch_sub(1); }

  void OnWriteDone(bool ok) final {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) EndLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the stream was closed"));
      if (!end_.has_value()) ProduceLocked();
      finish = TakeFinishLocked();
    }
    if (finish.has_value()) FinishOnce(*std::move(finish));  // `this` may be gone after this line
  }

  void OnCancel() final { End(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

  void OnDone() final {
    OnClosed();
    call_.reset();  // the call's metrics and access-log line
    delete this;
  }

 protected:
  // With mu_ held, when no write is in flight and the stream has not ended: write the next
  // message (WriteLocked), end the stream (EndLocked), or do nothing and call Resume() later.
  virtual void ProduceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // From OnDone, just before the reactor is deleted (unregister from whatever may call it).
  virtual void OnClosed() {}

  // Asks for the next message when the stream is idle. Safe from any thread.
  void Resume() ABSL_LOCKS_EXCLUDED(mu_) {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (!writing_ && !end_.has_value()) ProduceLocked();
      finish = TakeFinishLocked();
    }
    if (finish.has_value()) FinishOnce(*std::move(finish));
  }

  // Ends the stream with `status` (now, or when the write in flight completes). The first end
  // asked for wins. Safe from any thread.
  void End(grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      EndLocked(std::move(status));
      finish = TakeFinishLocked();
    }
    if (finish.has_value()) FinishOnce(*std::move(finish));
  }

  void WriteLocked(const Response* message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || end_.has_value()) return;  // a subclass bug; never two writes in flight
    writing_ = true;
    if (call_ != nullptr) call_->NoteSent(*message);
    this->StartWrite(message);
  }

  void EndLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!end_.has_value()) end_ = std::move(status);
  }

  absl::Mutex mu_;

 private:
  // The status to Finish with, once: when an end was asked for and no write is in flight.
  std::optional<grpc::Status> TakeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!end_.has_value() || writing_ || finish_called_) return std::nullopt;
    finish_called_ = true;
    return end_;
  }

  // Finishes outside mu_; `this` may be gone when it returns.
  void FinishOnce(grpc::Status status) { FinishObserved(call_.get(), this, std::move(status)); }

  std::unique_ptr<StreamCall> call_;  // null when not observed (made outside the host's handlers)
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> end_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_STREAM_WRITER_H_
