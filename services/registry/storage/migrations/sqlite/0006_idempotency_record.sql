-- The storage lane's one idempotency record (runtime/storage/idempotency.h, the table as every
-- service has it) replaces `request`, which was keyed by request_id with the method compared but
-- no caller. The reply is the serialized reply message (a Practice, or an ImportReport), as
-- `response` held it.
--
-- Rows from before carry no principal (`request` never stored one): they move over with
-- principal '' — a name no authenticated caller has — so a retry of such a request after the
-- upgrade is refused with REQUEST_ID_REUSED (the caller reads the practice or the feed instead)
-- rather than answered with another caller's reply or applied twice (docs/storage.md,
-- "Idempotency").
CREATE TABLE idempotency_record (
  request_id TEXT PRIMARY KEY,
  method TEXT NOT NULL,
  principal TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  reply BLOB NOT NULL,
  create_micros INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO idempotency_record (request_id, method, principal, request_hash, reply, create_micros)
  SELECT request_id, method, '', request_hash, response, create_time FROM request;
DROP TABLE request;
