-- The storage lane's one idempotency record (runtime/storage/idempotency.h, the table as every
-- service has it) replaces request_log, which was keyed by (method, request_id). The reply is the
-- name of the resource the first call created (what a retry is answered from).
--
-- Rows from before the lane carry no principal (request_log never stored one, and no engagement
-- table records who created what): they move over with principal '' — a name no authenticated
-- caller has — so a retry of such a request after the upgrade is refused with REQUEST_ID_REUSED
-- instead of creating the resource twice or answering with a resource that may be another
-- caller's (docs/storage.md, "Idempotency"). Where one id was used with two methods (allowed
-- before, not now) the earliest call keeps it (then the method's name, for a tie).
CREATE TABLE idempotency_record (
  request_id TEXT PRIMARY KEY,
  method TEXT NOT NULL,
  principal TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  reply BLOB NOT NULL,
  create_micros INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO idempotency_record (request_id, method, principal, request_hash, reply, create_micros)
  SELECT r.request_id, r.method, '', r.request_hash, CAST(r.resource AS BLOB), r.create_time
  FROM request_log r
  WHERE NOT EXISTS (SELECT 1 FROM request_log o WHERE o.request_id = r.request_id AND
                    (o.create_time < r.create_time OR
                     (o.create_time = r.create_time AND o.method < r.method)));
DROP TABLE request_log;
