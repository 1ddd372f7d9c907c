-- The idempotency record as every service creates it (runtime/storage/idempotency.h).
CREATE TABLE idempotency_record (
  request_id TEXT COLLATE "C" PRIMARY KEY,
  method TEXT NOT NULL,
  principal TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  reply BYTEA NOT NULL,
  create_micros BIGINT NOT NULL
);
