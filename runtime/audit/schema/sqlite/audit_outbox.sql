-- The audit outbox (issue 16, runtime/audit/audit_outbox.h), the runtime's one definition: every
-- service whose group-committed writes are audited includes it as a step of its own migrations
-- (an include line, cmake/DorsetMigrations.cmake). A group-committed write's audit event is
-- written in the same transaction as the change it records, so the call is acknowledged after ONE
-- commit; the audit trail's writer moves the rows into audit.db (in id order, exactly once, by the
-- highest id moved that audit.db records) and the next groups delete them. AUTOINCREMENT: an id is
-- never reused, so a moved row's id is never given to a new event.
CREATE TABLE audit_outbox(
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  time_us    INTEGER NOT NULL,
  principal  TEXT NOT NULL,
  method     TEXT NOT NULL,
  resource   TEXT NOT NULL,
  action     TEXT NOT NULL,
  request_id TEXT NOT NULL,
  outcome    TEXT NOT NULL);
