-- The audit outbox as the services create it (runtime/audit/audit_outbox.h), for its tests.
CREATE TABLE audit_outbox(
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  time_us    INTEGER NOT NULL,
  principal  TEXT NOT NULL,
  method     TEXT NOT NULL,
  resource   TEXT NOT NULL,
  action     TEXT NOT NULL,
  request_id TEXT NOT NULL,
  outcome    TEXT NOT NULL);
