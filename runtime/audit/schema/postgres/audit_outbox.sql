-- The audit outbox (issue 16, runtime/audit/audit_outbox.h), the runtime's one definition: every
-- service whose group-committed writes are audited includes it as a step of its own migrations
-- (an include line, cmake/DorsetMigrations.cmake). A group-committed write's audit event is
-- written in the same transaction as the change it records, so the call is acknowledged after ONE
-- commit; the audit trail's writer moves the rows into audit_event (the same database) in one
-- transaction that deletes them, exactly once whichever replica moves them. IF NOT EXISTS: services
-- that share one database share the outbox, as they share the trail.
CREATE TABLE IF NOT EXISTS audit_outbox(
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time_us    BIGINT NOT NULL,
  principal  TEXT NOT NULL,
  method     TEXT NOT NULL,
  resource   TEXT NOT NULL,
  action     TEXT NOT NULL,
  request_id TEXT NOT NULL,
  outcome    TEXT NOT NULL);
