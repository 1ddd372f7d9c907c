-- An import's scratch table (WriteTx::SeeOnce): empty outside an import's transaction.
CREATE TABLE import_seen (
  key TEXT PRIMARY KEY,
  line INTEGER NOT NULL,
  value TEXT NOT NULL
) WITHOUT ROWID;
