// The audit trail of one service: an append-only SQLite table (`audit_event`, in `audit.db` in
// the service's data directory; UPDATE and DELETE are refused by triggers) holding who did what
// to which resource, when, with which request id and outcome.
//
// The server interceptor records every call that needs a write permission (whatever its
// outcome), every call refused as UNAUTHENTICATED or PERMISSION_DENIED, and every call whose
// handler returned personal data (Caller::NotePersonalDataRead). Events are queued and written
// in batches by one thread, so auditing never holds up a handler; Flush() waits for the queue.
#ifndef DORSET_RUNTIME_AUDIT_AUDIT_LOG_H_
#define DORSET_RUNTIME_AUDIT_AUDIT_LOG_H_

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dorset/common/v1/audit.pb.h"
#include "runtime/sqlite/database.h"

namespace dorset::runtime {

class AuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& data_dir);
  ~AuditLog();  // writes what is queued, then stops

  // Queues one event (sequence and time are assigned here). Never blocks for long: when the
  // queue is full the caller waits for the writer, so no event is dropped.
  void Record(common::v1::AuditEvent event);
  // Waits until everything recorded so far is committed.
  void Flush();

  absl::StatusOr<common::v1::ListAuditEventsResponse> List(
      const common::v1::ListAuditEventsRequest& request);

 private:
  explicit AuditLog(std::unique_ptr<sqlite::Database> db, std::unique_ptr<sqlite::Database> reader);
  void WriterLoop();
  absl::Status WriteBatch(const std::vector<common::v1::AuditEvent>& batch);

  std::unique_ptr<sqlite::Database> db_;  // writer thread only
  absl::Mutex reader_mu_;
  std::unique_ptr<sqlite::Database> reader_ ABSL_GUARDED_BY(reader_mu_);
  absl::Mutex mu_;
  std::deque<common::v1::AuditEvent> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t recorded_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_AUDIT_AUDIT_LOG_H_
