-- The registry store as its SQLite schema version 1 before the storage lane (services/registry/
-- store.cc): a registry.db of an earlier release records PRAGMA user_version 1..4 and is
-- carried over as steps 1..4 (storage/legacy_sqlite.cc), so this text must not change.
CREATE TABLE cluster (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE locality (
  id TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  cluster_id TEXT NOT NULL REFERENCES cluster(id),
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX locality_by_cluster ON locality(cluster_id, id);
-- The imported practice -> locality mapping; kept apart from practices so a mapping can be
-- loaded before the practices it names.
CREATE TABLE locality_assignment (
  ods_code TEXT PRIMARY KEY,
  locality_id TEXT NOT NULL REFERENCES locality(id)
) WITHOUT ROWID;
-- Indexed columns for filters and ordering; `data` is the whole Practice message.
CREATE TABLE practice (
  ods_code TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  postcode_key TEXT NOT NULL,
  status INTEGER NOT NULL,
  prescribing_setting INTEGER NOT NULL,
  commissioner TEXT NOT NULL,
  locality_id TEXT REFERENCES locality(id),
  list_size INTEGER,
  update_time INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  data BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX practice_by_locality ON practice(locality_id, ods_code);
CREATE INDEX practice_by_status ON practice(status, ods_code);
CREATE INDEX practice_by_commissioner ON practice(commissioner, ods_code);
CREATE INDEX practice_by_name ON practice(display_name, ods_code);
CREATE INDEX practice_by_postcode ON practice(postcode_key, ods_code);
CREATE INDEX practice_by_setting ON practice(prescribing_setting, ods_code);
CREATE INDEX practice_by_update ON practice(update_time, ods_code);
-- The change feed. AUTOINCREMENT: sequences are never reused, even after a rollback of the
-- newest rows. `payload` is a Change message (sequence filled in when read).
CREATE TABLE change (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind INTEGER NOT NULL,
  resource TEXT NOT NULL,
  commit_time INTEGER NOT NULL,
  source TEXT NOT NULL,
  actor TEXT NOT NULL,
  payload BLOB NOT NULL
);
CREATE TABLE practice_revision (
  ods_code TEXT NOT NULL,
  revision INTEGER NOT NULL,
  seq INTEGER NOT NULL REFERENCES change(seq),
  PRIMARY KEY (ods_code, revision)
) WITHOUT ROWID;
-- Idempotency keys of mutations: a retried request_id gets the first response.
CREATE TABLE request (
  request_id TEXT PRIMARY KEY,
  method TEXT NOT NULL,
  response BLOB NOT NULL,
  create_time INTEGER NOT NULL
) WITHOUT ROWID;
