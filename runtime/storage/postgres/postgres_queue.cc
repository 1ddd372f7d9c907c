// The PostgreSQL engine's queues (Database::WriteQueued, postgres_connection.h): a session
// advisory lock taken before the transaction's BEGIN and released after its end. With pipelines
// (the default) the lock goes in the first round trip with BEGIN and the first statement, in a
// segment of its own, and its release in one with COMMIT or ROLLBACK; without, a round trip each.
#include <libpq-fe.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/postgres/postgres_connection.h"

namespace dorset::runtime::storage {

absl::Status PostgresConnection::BeginQueued(TransactionMode mode, int64_t queue) {
  const std::string lock = absl::StrCat("SELECT pg_advisory_lock(", queue, ")");
  const std::string release = absl::StrCat("SELECT pg_advisory_unlock(", queue, ")");
  if (pipeline_begin_) {
    RETURN_IF_ERROR(Begin(mode));  // BEGIN waits for the first statement; so does the lock
    pending_lock_ = lock;
    release_ = release;
    return absl::OkStatus();
  }
  // Without pipelines: a round trip each, the lock first.
  ResetTransaction();
  if (absl::Status locked = Exec(lock); !locked.ok()) {
    if (broken()) lost_before_begin_ = true;
    return locked;
  }
  absl::Status begun = Begin(mode);
  if (!begun.ok()) {
    if (!broken() && !Exec(release).ok()) broken_ = true;
    return begun;
  }
  release_ = release;
  return absl::OkStatus();
}

absl::Status PostgresConnection::EndAndRelease(const char* end) {
  const std::string release = std::exchange(release_, std::string());
  if (!pipeline_begin_) {
    absl::Status ended = Exec(end);
    if (!broken() && !Exec(release).ok()) broken_ = true;
    return ended;
  }
  std::vector<absl::Status> done = ExecEach({end, release});
  if (!done[1].ok()) broken_ = true;
  return done[0];
}

std::vector<absl::Status> PostgresConnection::ExecEach(
    std::initializer_list<std::string_view> sql) {
  std::vector<absl::Status> out;
  std::vector<std::string> texts(sql.begin(), sql.end());
  bool sent = PQenterPipelineMode(conn_) == 1;
  for (const std::string& text : texts) {
    sent = sent &&
           PQsendQueryParams(conn_, text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
           PQpipelineSync(conn_) == 1;
  }
  sent = sent && PQflush(conn_) == 0;
  for (const std::string& text : texts) {
    if (!sent) {
      out.push_back(Lost("sending a pipeline failed"));
      continue;
    }
    // The statement's result, then its segment's sync point.
    absl::Status status = absl::OkStatus();
    bool synced = false;
    bool checked = false;
    while (true) {
      Result next = NextPipelineResult();
      if (next == nullptr) break;
      if (PQresultStatus(next.get()) == PGRES_PIPELINE_SYNC) {
        synced = true;
        break;
      }
      if (!checked) status = Check(next.get(), text);
      checked = true;
    }
    if (!synced) {
      sent = false;
      status = Lost("the pipeline ended early");
    }
    out.push_back(status);
  }
  if (PQpipelineStatus(conn_) != PQ_PIPELINE_OFF && PQexitPipelineMode(conn_) != 1) {
    broken_ = true;
  }
  return out;
}

}  // namespace dorset::runtime::storage
