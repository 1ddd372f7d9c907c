-- The store's data version (issue 16, runtime/storage/data_version.h): row 'data_version', raised
-- in every write transaction, so a replica (or a tool) that did not write learns that the store
-- moved and its replies kept per store generation are no longer served. As finance's `meta`.
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
