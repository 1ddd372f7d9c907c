-- Name search without GIN's pending list (issue 16): step 3's index took GIN's default
-- fastupdate, which queues new entries in an unsorted pending list until a VACUUM merges them;
-- after an import of the national extract the whole index sat there, every search read it all,
-- and the planner (rightly) preferred the scan. Registry writes are few and come in imports, so
-- each one now updates the index in place, and a search reads only the trigrams it needs.
DROP INDEX practice_by_name_trigram;
CREATE INDEX practice_by_name_trigram ON practice USING gin (LOWER(display_name) gin_trgm_ops)
  WITH (fastupdate = off);
