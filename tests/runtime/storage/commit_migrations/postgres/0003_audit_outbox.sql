-- The audit outbox as the services create it (runtime/audit/audit_outbox.h), for its tests.
CREATE TABLE IF NOT EXISTS audit_outbox(
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time_us    BIGINT NOT NULL,
  principal  TEXT NOT NULL,
  method     TEXT NOT NULL,
  resource   TEXT NOT NULL,
  action     TEXT NOT NULL,
  request_id TEXT NOT NULL,
  outcome    TEXT NOT NULL);
