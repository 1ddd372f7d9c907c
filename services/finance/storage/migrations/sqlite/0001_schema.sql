-- The finance store as today's SQLite schema version 1 (services/finance/schema.cc before the
-- storage lane): an existing finance.db records it as PRAGMA user_version 1, adopted as step 1.
CREATE TABLE node (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind INTEGER NOT NULL,
  plan_id INTEGER REFERENCES node(id),
  parent_id INTEGER REFERENCES node(id),
  display_name TEXT NOT NULL,
  state INTEGER NOT NULL DEFAULT 1,
  scope TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 1,
  create_micros INTEGER NOT NULL,
  update_micros INTEGER NOT NULL
);
CREATE INDEX node_parent ON node(parent_id, name);
CREATE INDEX node_plan ON node(plan_id, kind);

CREATE TABLE target (
  scheme_id INTEGER NOT NULL REFERENCES node(id),
  year INTEGER NOT NULL,
  amount_pence INTEGER NOT NULL,
  PRIMARY KEY (scheme_id, year)
) WITHOUT ROWID;

CREATE TABLE budget_line (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  year INTEGER NOT NULL,
  amount_pence INTEGER NOT NULL,
  scope TEXT NOT NULL DEFAULT '',
  illustrative INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 1,
  create_micros INTEGER NOT NULL,
  update_micros INTEGER NOT NULL
);

CREATE TABLE posting (
  id INTEGER PRIMARY KEY,
  scheme_id INTEGER NOT NULL REFERENCES node(id),
  year INTEGER NOT NULL,
  month INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),
  amount_pence INTEGER NOT NULL,
  principal TEXT NOT NULL,
  create_micros INTEGER NOT NULL,
  reason TEXT NOT NULL,
  request_id TEXT NOT NULL,
  reverses INTEGER UNIQUE REFERENCES posting(id)
);
CREATE INDEX posting_scheme ON posting(scheme_id, id);
CREATE TRIGGER posting_no_update BEFORE UPDATE ON posting
  BEGIN SELECT RAISE(ABORT, 'postings are immutable'); END;
CREATE TRIGGER posting_no_delete BEFORE DELETE ON posting
  BEGIN SELECT RAISE(ABORT, 'postings are immutable'); END;

CREATE TABLE posting_request (
  request_id TEXT PRIMARY KEY,
  content_hash TEXT NOT NULL,
  first_posting_id INTEGER NOT NULL,
  posting_count INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE total (
  scheme_id INTEGER NOT NULL,
  year INTEGER NOT NULL,
  month INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  amount_pence INTEGER NOT NULL,
  PRIMARY KEY (scheme_id, year, month, kind)
) WITHOUT ROWID;

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
