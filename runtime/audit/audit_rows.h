// The audit event's columns in the trail (audit_event), bound from an outbox row, a packed row's
// event or a message, so that an event moved into the trail keeps every field: for audit_log*.cc
// and audit_outbox.cc only.
#ifndef DORSET_RUNTIME_AUDIT_AUDIT_ROWS_H_
#define DORSET_RUNTIME_AUDIT_AUDIT_ROWS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "dorset/common/v1/audit.pb.h"
#include "runtime/audit/audit_outbox.h"
#include "runtime/audit/outbox_packing.h"
#include "runtime/storage/multi_row.h"

namespace dorset::runtime::audit_rows {

// Binds one event to the row of an INSERT (TrailInsert: runtime/sqlite's Statement or
// runtime/storage's) whose first placeholder is `first`. `Event` is an outbox row as a group
// collects it (OutboxRow, audit_outbox.h) or an event viewed (outbox_packing::EventView: a packed
// row's, or a message's strings); both name the same fields. The texts are bound without a copy
// (BindKept): they must stay unchanged until the statement has run and been reset.
template <typename Stmt, typename Event>
void BindEvent(Stmt& insert, const Event& e, int first = 1) {
  insert.Bind(first, e.time_us)
      .BindKept(first + 1, e.principal)
      .BindKept(first + 2, e.method)
      .BindKept(first + 3, e.resource)
      .BindKept(first + 4, e.action)
      .BindKept(first + 5, e.request_id)
      .BindKept(first + 6, e.outcome);
}

// `e`'s fields as views of its strings (valid while `e` is unchanged).
inline outbox_packing::EventView ViewOf(const common::v1::AuditEvent& e) {
  return {e.time().seconds() * 1000000 + e.time().nanos() / 1000,
          e.principal(),
          e.method(),
          e.resource(),
          e.action(),
          e.request_id(),
          e.outcome()};
}

// PostgreSQL: the queue every appender of the trail waits in, so that sequences are handed out in
// commit order: a transaction takes its numbers only after the one before it committed. Without
// it two replicas' appends could commit out of order and a reader paging by sequence could pass a
// number whose event becomes visible only later. The trail's writer takes it before BEGIN
// (Database::WriteQueued); a group committer's transaction, whose events go straight into the
// trail (AuditOutbox::Append), takes it as its last lock (pg_advisory_xact_lock, held until the
// commit): the same lock, so the two kinds of appenders queue for each other.
inline constexpr int64_t kAppendQueue = 0x6175646974747261;  // "audittra"

// The trail's INSERTs, several events per statement (runtime/storage/multi_row.h): a group's
// events, or a move's, are written by a few statements, not one each. On PostgreSQL one
// statement for a group's events (multi_row.h's unnest form).
inline constexpr size_t kInsertShapes = storage::MultiRowInsert::kInsertShapes;
inline const storage::MultiRowInsert& TrailInsert() {
  static const storage::MultiRowInsert trail(
      "INSERT INTO audit_event(time_us, principal, method, resource, action, request_id, "
      "outcome) VALUES ",
      7, "", {"bigint", "text", "text", "text", "text", "text", "text"});
  return trail;
}

// Inserts `count` events (at(i): the i-th; sequences follow this order) into the trail;
// statement(shape): a prepared statement of TrailInsert().Sql(shape), as MultiRowInsert::Run.
template <typename EventAt, typename StatementFor>
absl::Status InsertEvents(size_t count, const EventAt& at, const StatementFor& statement) {
  return TrailInsert().Run(count, statement, [&at](auto& insert, size_t row, int first) {
    BindEvent(insert, at(row), first);
  });
}

// The same in one transaction of the storage lane: its statements prepared at their first use
// (storage::MultiRowStatements) for this call's rows. On PostgreSQL the one INSERT is sent
// without waiting (MultiRowStatements::Send): it goes in the round trip of the transaction's next
// statement or commit (a group's data-version bump, the trail's commit), which returns its
// failure.
template <typename EventAt>
absl::Status InsertEvents(size_t count, const EventAt& at, storage::Transaction& tx) {
  storage::MultiRowStatements inserts(TrailInsert(), tx);
  return inserts.Send(count, [&at](storage::Statement& insert, size_t row, int first) {
    BindEvent(insert, at(row), first);
  });
}

// One row of (sequence or outbox id, time_us, principal, method, resource, action, request_id,
// outcome); the first column becomes the event's sequence.
template <typename Stmt>
common::v1::AuditEvent EventFromRow(const Stmt& row) {
  common::v1::AuditEvent e;
  e.set_sequence(row.Int(0));
  e.mutable_time()->set_seconds(row.Int(1) / 1000000);
  e.mutable_time()->set_nanos(static_cast<int32_t>(row.Int(1) % 1000000) * 1000);
  e.set_principal(row.Text(2));
  e.set_method(row.Text(3));
  e.set_resource(row.Text(4));
  e.set_action(row.Text(5));
  e.set_request_id(row.Text(6));
  e.set_outcome(row.Text(7));
  return e;
}

}  // namespace dorset::runtime::audit_rows

#endif  // DORSET_RUNTIME_AUDIT_AUDIT_ROWS_H_
