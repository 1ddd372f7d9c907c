// The audit event's columns, shared by the trail (audit_event) and the outbox (audit_outbox), so
// that an event moved from one to the other keeps every field: for audit_log.cc and
// audit_outbox.cc only.
#ifndef DORSET_RUNTIME_AUDIT_AUDIT_ROWS_H_
#define DORSET_RUNTIME_AUDIT_AUDIT_ROWS_H_

#include <cstdint>

#include "dorset/common/v1/audit.pb.h"

namespace dorset::runtime::audit_rows {

inline constexpr char kInsert[] =
    "INSERT INTO audit_event(time_us, principal, method, resource, action, request_id, outcome) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
inline constexpr char kInsertOutbox[] =
    "INSERT INTO audit_outbox(time_us, principal, method, resource, action, request_id, outcome) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";

// Binds one event to kInsert or kInsertOutbox (runtime/sqlite's Statement or runtime/storage's).
template <typename Stmt>
void BindEvent(Stmt& insert, const common::v1::AuditEvent& e) {
  insert.Bind(1, static_cast<int64_t>(e.time().seconds() * 1000000 + e.time().nanos() / 1000))
      .Bind(2, e.principal())
      .Bind(3, e.method())
      .Bind(4, e.resource())
      .Bind(5, e.action())
      .Bind(6, e.request_id())
      .Bind(7, e.outcome());
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
