#include "runtime/audit/audit_log.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "runtime/api/page_token.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {
namespace {

constexpr size_t kMaxQueued = 100000;
constexpr size_t kMaxBatch = 1000;

constexpr sqlite::Migration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE audit_event(
        sequence   INTEGER PRIMARY KEY AUTOINCREMENT,
        time_us    INTEGER NOT NULL,
        principal  TEXT NOT NULL,
        method     TEXT NOT NULL,
        resource   TEXT NOT NULL,
        action     TEXT NOT NULL,
        request_id TEXT NOT NULL,
        outcome    TEXT NOT NULL);
      CREATE INDEX audit_event_principal ON audit_event(principal, sequence);
      CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
      CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    )sql"},
};

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& data_dir) {
  const std::string path = (std::filesystem::path(data_dir) / "audit.db").string();
  // Events are queued after their calls end, so a crash can already lose the last few; paying
  // an fsync per batch on top would buy nothing (see audit_log.h).
  sqlite::OpenOptions options;
  options.full_sync = false;
  ASSIGN_OR_RETURN(auto db, sqlite::Database::Open(path, options));
  RETURN_IF_ERROR(db->Migrate(kMigrations));
  ASSIGN_OR_RETURN(auto reader, sqlite::Database::Open(path));
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(db), std::move(reader)));
}

AuditLog::AuditLog(std::unique_ptr<sqlite::Database> db, std::unique_ptr<sqlite::Database> reader)
    : db_(std::move(db)), reader_(std::move(reader)) {
  writer_ = std::thread([this] { WriterLoop(); });
}

AuditLog::~AuditLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
}

void AuditLog::Record(common::v1::AuditEvent event) {
  const int64_t now_us = absl::ToUnixMicros(absl::Now());
  event.mutable_time()->set_seconds(now_us / 1000000);
  event.mutable_time()->set_nanos(static_cast<int32_t>(now_us % 1000000) * 1000);
  absl::MutexLock lock(&mu_);
  auto has_room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size() < kMaxQueued || stopping_;
  };
  mu_.Await(absl::Condition(&has_room));
  queue_.push_back(std::move(event));
  ++recorded_;
}

void AuditLog::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = recorded_;
  auto caught_up = [this, target]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return written_ >= target; };
  mu_.Await(absl::Condition(&caught_up));
}

void AuditLog::WriterLoop() {
  while (true) {
    std::vector<common::v1::AuditEvent> batch;
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stopping_; };
      mu_.Await(absl::Condition(&work));
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // A failed write is retried: the trail must not silently lose events.
    while (true) {
      absl::Status status = WriteBatch(batch);
      if (status.ok()) break;
      log::Error("audit write failed; retrying", {{"error", std::string(status.message())}});
      absl::SleepFor(absl::Milliseconds(200));
    }
    absl::MutexLock lock(&mu_);
    written_ += batch.size();
  }
}

absl::Status AuditLog::WriteBatch(const std::vector<common::v1::AuditEvent>& batch) {
  ASSIGN_OR_RETURN(sqlite::Transaction tx, sqlite::Transaction::Begin(*db_));
  ASSIGN_OR_RETURN(sqlite::Statement insert,
                   db_->Prepare("INSERT INTO audit_event(time_us, principal, method, resource, "
                                "action, request_id, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  for (const auto& e : batch) {
    insert.Reset();
    insert.Bind(1, e.time().seconds() * 1000000 + e.time().nanos() / 1000)
        .Bind(2, e.principal())
        .Bind(3, e.method())
        .Bind(4, e.resource())
        .Bind(5, e.action())
        .Bind(6, e.request_id())
        .Bind(7, e.outcome());
    RETURN_IF_ERROR(insert.Run());
  }
  return tx.Commit();
}

absl::StatusOr<common::v1::ListAuditEventsResponse> AuditLog::List(
    const common::v1::ListAuditEventsRequest& request) {
  if (request.after_sequence() < 0) {
    return InvalidArgument("after_sequence", "must not be negative");
  }
  ASSIGN_OR_RETURN(int page_size, EffectivePageSize(request.page_size(), 100, 1000));
  absl::MutexLock lock(&reader_mu_);
  ASSIGN_OR_RETURN(
      sqlite::Statement select,
      reader_->Prepare("SELECT sequence, time_us, principal, method, resource, action, "
                       "request_id, outcome FROM audit_event WHERE sequence > ? AND "
                       "(? = '' OR principal = ?) ORDER BY sequence LIMIT ?"));
  select.Bind(1, request.after_sequence())
      .Bind(2, request.principal())
      .Bind(3, request.principal())
      .Bind(4, page_size);
  common::v1::ListAuditEventsResponse response;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    auto* e = response.add_events();
    e->set_sequence(select.Int(0));
    e->mutable_time()->set_seconds(select.Int(1) / 1000000);
    e->mutable_time()->set_nanos(static_cast<int32_t>(select.Int(1) % 1000000) * 1000);
    e->set_principal(select.Text(2));
    e->set_method(select.Text(3));
    e->set_resource(select.Text(4));
    e->set_action(select.Text(5));
    e->set_request_id(select.Text(6));
    e->set_outcome(select.Text(7));
  }
  if (response.events_size() == page_size) {
    response.set_next_after_sequence(response.events(page_size - 1).sequence());
  }
  return response;
}

}  // namespace dorset::runtime
