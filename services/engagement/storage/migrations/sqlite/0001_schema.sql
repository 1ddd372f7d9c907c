-- The engagement store as the pre-lane SQLite schema version 1 (services/engagement/store.cc):
-- an existing engagement.db records PRAGMA user_version 3, adopted as steps 1-3. Times are
-- microseconds since the Unix epoch; repeated names are '\n'-joined ids.
CREATE TABLE stakeholder (
  id TEXT PRIMARY KEY,
  kind INTEGER NOT NULL,
  display_name TEXT NOT NULL,
  organisation TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT NOT NULL,
  postal_address TEXT NOT NULL,
  contact_consent INTEGER NOT NULL,
  contact_consent_time INTEGER,
  publish_consent INTEGER NOT NULL,
  publish_consent_time INTEGER,
  locality TEXT NOT NULL,
  erased INTEGER NOT NULL DEFAULT 0,
  erase_time INTEGER,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  version INTEGER NOT NULL
);
CREATE TABLE activity (
  id TEXT PRIMARY KEY,
  kind INTEGER NOT NULL,
  title TEXT NOT NULL,
  purpose TEXT NOT NULL,
  localities TEXT NOT NULL,
  finance_scheme TEXT NOT NULL,
  state INTEGER NOT NULL,
  window_start INTEGER,
  window_end INTEGER,
  open_time INTEGER,
  close_time INTEGER,
  publish_time INTEGER,
  outcome_summary TEXT NOT NULL,
  reported_participants INTEGER NOT NULL,
  reported_source TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  version INTEGER NOT NULL
);
CREATE TABLE theme (
  activity_id TEXT NOT NULL REFERENCES activity(id),
  id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  description TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (activity_id, id)
) WITHOUT ROWID;
CREATE TABLE response (
  id INTEGER PRIMARY KEY,
  activity_id TEXT NOT NULL REFERENCES activity(id),
  stakeholder_id TEXT,
  text TEXT NOT NULL,
  channel INTEGER NOT NULL,
  locality TEXT NOT NULL,
  practice TEXT NOT NULL,
  themes TEXT NOT NULL,
  sentiment INTEGER NOT NULL,
  publish_consent INTEGER NOT NULL,
  anonymised INTEGER NOT NULL DEFAULT 0,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  version INTEGER NOT NULL
);
CREATE INDEX response_by_activity ON response(activity_id, id);
CREATE INDEX response_by_stakeholder ON response(stakeholder_id) WHERE stakeholder_id IS NOT NULL;
CREATE TABLE decision (
  activity_id TEXT NOT NULL REFERENCES activity(id),
  id TEXT NOT NULL,
  summary TEXT NOT NULL,
  rationale TEXT NOT NULL,
  themes TEXT NOT NULL,
  responses TEXT NOT NULL,
  decided_by TEXT NOT NULL,
  decide_time INTEGER,
  published INTEGER NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (activity_id, id)
) WITHOUT ROWID;
CREATE TABLE response_count (
  activity_id TEXT NOT NULL,
  dimension TEXT NOT NULL,
  key TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (activity_id, dimension, key)
) WITHOUT ROWID;
CREATE TABLE request_log (
  method TEXT NOT NULL,
  request_id TEXT NOT NULL,
  resource TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  PRIMARY KEY (method, request_id)
) WITHOUT ROWID;
