-- Every idempotency record, as on SQLite (where new records wait in a request log before they
-- are merged into idempotency_record: runtime/storage/request_log.h). PostgreSQL keeps them all
-- in idempotency_record; the view gives the copy tool and checks one name on both engines.
CREATE VIEW idempotency_records AS
  SELECT request_id, method, principal, request_hash, reply, create_micros
  FROM idempotency_record;
