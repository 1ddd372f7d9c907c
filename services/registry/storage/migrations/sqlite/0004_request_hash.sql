-- A request_id remembers which request it was for (runtime/api/request_id.h), so the same id
-- with different content is refused instead of answered with the first result. Rows written
-- before keep '' (compared as "unknown": answered as a retry, as they were).
ALTER TABLE request ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
