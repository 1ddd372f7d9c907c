-- The storage lane's one idempotency record (runtime/storage/idempotency.h, the table as every
-- service has it) replaces request_log, as SQLite's step 4 does (the rows a copy from a pre-lane
-- store brought move over the same way: principal '', the earliest call keeps a shared id; the
-- reply is the created resource's name).
CREATE TABLE idempotency_record (
  request_id TEXT COLLATE "C" PRIMARY KEY,
  method TEXT NOT NULL,
  principal TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  reply BYTEA NOT NULL,
  create_micros BIGINT NOT NULL
);
INSERT INTO idempotency_record (request_id, method, principal, request_hash, reply, create_micros)
  SELECT r.request_id, r.method, '', r.request_hash, convert_to(r.resource, 'UTF8'), r.create_time
  FROM request_log r
  WHERE NOT EXISTS (SELECT 1 FROM request_log o WHERE o.request_id = r.request_id AND
                    (o.create_time < r.create_time OR
                     (o.create_time = r.create_time AND o.method < r.method)));
DROP TABLE request_log;
