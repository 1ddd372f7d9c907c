-- The registry store on PostgreSQL: the same tables as the SQLite steps 1-5 (0001_schema.sql ..
-- 0005_change_sequence.sql there). Keys and sort columns are COLLATE "C" so that ordering and
-- keyset comparisons are byte order, as on SQLite, whatever the database's locale.
CREATE TABLE cluster (
  id TEXT COLLATE "C" PRIMARY KEY,
  display_name TEXT NOT NULL,
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL
);
CREATE TABLE locality (
  id TEXT COLLATE "C" PRIMARY KEY,
  display_name TEXT NOT NULL,
  cluster_id TEXT COLLATE "C" NOT NULL REFERENCES cluster(id),
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL
);
CREATE INDEX locality_by_cluster ON locality(cluster_id, id);
-- The imported practice -> locality mapping; kept apart from practices so a mapping can be
-- loaded before the practices it names.
CREATE TABLE locality_assignment (
  ods_code TEXT COLLATE "C" PRIMARY KEY,
  locality_id TEXT COLLATE "C" NOT NULL REFERENCES locality(id)
);
-- Indexed columns for filters and ordering; `data` is the whole Practice message.
CREATE TABLE practice (
  ods_code TEXT COLLATE "C" PRIMARY KEY,
  display_name TEXT COLLATE "C" NOT NULL,
  postcode_key TEXT COLLATE "C" NOT NULL,
  status BIGINT NOT NULL,
  prescribing_setting BIGINT NOT NULL,
  commissioner TEXT COLLATE "C" NOT NULL,
  locality_id TEXT COLLATE "C" REFERENCES locality(id),
  list_size BIGINT,
  update_time BIGINT NOT NULL,
  revision BIGINT NOT NULL,
  data BYTEA NOT NULL
);
CREATE INDEX practice_by_locality ON practice(locality_id, ods_code);
CREATE INDEX practice_by_status ON practice(status, ods_code);
CREATE INDEX practice_by_commissioner ON practice(commissioner, ods_code);
CREATE INDEX practice_by_name ON practice(display_name, ods_code);
CREATE INDEX practice_by_postcode ON practice(postcode_key, ods_code);
CREATE INDEX practice_by_setting ON practice(prescribing_setting, ods_code);
CREATE INDEX practice_by_update ON practice(update_time, ods_code);
-- The change feed: `seq` is handed out by change_sequence (gap-free, commit order).
-- `payload` is a Change message (sequence filled in when read).
CREATE TABLE change (
  seq BIGINT PRIMARY KEY,
  kind BIGINT NOT NULL,
  resource TEXT NOT NULL,
  commit_time BIGINT NOT NULL,
  source TEXT NOT NULL,
  actor TEXT NOT NULL,
  payload BYTEA NOT NULL
);
CREATE TABLE change_sequence (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  last_seq BIGINT NOT NULL
);
INSERT INTO change_sequence (id, last_seq) VALUES (1, 0);
CREATE TABLE practice_revision (
  ods_code TEXT COLLATE "C" NOT NULL,
  revision BIGINT NOT NULL,
  seq BIGINT NOT NULL REFERENCES change(seq),
  PRIMARY KEY (ods_code, revision)
);
-- Idempotency keys of mutations: a retried request_id gets the first response.
CREATE TABLE request (
  request_id TEXT PRIMARY KEY,
  method TEXT NOT NULL,
  response BYTEA NOT NULL,
  create_time BIGINT NOT NULL,
  request_hash TEXT NOT NULL DEFAULT ''
);
-- An import's scratch table (WriteTx::SeeOnce): empty outside an import's transaction.
CREATE TABLE import_seen (
  key TEXT PRIMARY KEY,
  line BIGINT NOT NULL,
  value TEXT NOT NULL
);
