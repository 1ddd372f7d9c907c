-- Pre-lane version 2: a request_id remembers which request it was for (runtime/api/request_id.h).
ALTER TABLE request_log ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
