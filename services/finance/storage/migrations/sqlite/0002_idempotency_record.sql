-- The storage lane's one idempotency record (runtime/storage/idempotency.h, the table exactly as
-- kIdempotencyRecordSqlite) replaces posting_request. Every earlier request moves over: its
-- principal is its postings' principal, its reply the posting range "<first id>:<count>" the
-- ledger reads the reply back from (services/finance/storage/ledger.cc).
CREATE TABLE idempotency_record (
  request_id TEXT PRIMARY KEY,
  method TEXT NOT NULL,
  principal TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  reply BLOB NOT NULL,
  create_micros INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO idempotency_record (request_id, method, principal, request_hash, reply, create_micros)
  SELECT r.request_id, 'CreatePostings', p.principal, r.content_hash,
         CAST(r.first_posting_id || ':' || r.posting_count AS BLOB), p.create_micros
  FROM posting_request r JOIN posting p ON p.id = r.first_posting_id;
DROP TABLE posting_request;
