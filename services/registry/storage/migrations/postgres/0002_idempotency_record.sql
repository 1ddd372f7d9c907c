-- The storage lane's one idempotency record (runtime/storage/idempotency.h, the table as every
-- service has it) replaces `request`, as SQLite's step 6 does: rows written before (by this
-- engine's step 1, or brought by a copy) move over with principal '' (refused as
-- REQUEST_ID_REUSED on a retry, never answered with another caller's reply); the reply is the
-- serialized reply message `response` held.
CREATE TABLE idempotency_record (
  request_id TEXT COLLATE "C" PRIMARY KEY,
  method TEXT NOT NULL,
  principal TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  reply BYTEA NOT NULL,
  create_micros BIGINT NOT NULL
);
INSERT INTO idempotency_record (request_id, method, principal, request_hash, reply, create_micros)
  SELECT request_id, method, '', request_hash, response, create_time FROM request;
DROP TABLE request;
