-- The request log (runtime/storage/request_log.h, issue 16): new idempotency records are
-- appended here in commit order and merged into idempotency_record in key order, in batches,
-- so that a request with a random id does not write a leaf of the keyed table of its own.
-- AUTOINCREMENT: seq only grows, even across a merge that empties the log, which is how a
-- connection learns of the rows others appended.
CREATE TABLE idempotency_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id TEXT NOT NULL,
  method TEXT NOT NULL,
  principal TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  reply BLOB NOT NULL,
  create_micros INTEGER NOT NULL
);
-- Every record, wherever it is kept (the copy tool and checks read this).
CREATE VIEW idempotency_records AS
  SELECT request_id, method, principal, request_hash, reply, create_micros
  FROM idempotency_record
  UNION ALL
  SELECT request_id, method, principal, request_hash, reply, create_micros
  FROM idempotency_log;
