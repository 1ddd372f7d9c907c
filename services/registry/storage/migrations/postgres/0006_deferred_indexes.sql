-- The first import's indexes on practice, built after its commit (issue 16): the import drops
-- practice's secondary indexes in its transaction, lists them here in the same transaction, and
-- after the commit builds them on several connections at once (CREATE INDEX takes a SHARE lock,
-- which does not conflict with another CREATE INDEX on the table), which a transaction of its
-- own cannot do: other connections do not see its rows before it commits. A row is deleted once
-- every index listed exists, so an import killed between its commit and the builds leaves them
-- here, and the next start of the registry builds them (Store::BuildDeferredIndexes).
CREATE TABLE import_deferred_index (
  name TEXT COLLATE "C" PRIMARY KEY,
  position BIGINT NOT NULL,
  definition TEXT NOT NULL
);
