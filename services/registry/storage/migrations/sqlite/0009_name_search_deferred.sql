-- Name search index deferred within an import (issue 16): SQLite 3.40's FTS5 writes its pending
-- entries out at every statement savepoint, and in a transaction every upsert of a practice
-- (which has triggers) opens one, so an import of the national extract wrote one tiny index
-- segment per practice and merged them again: about a third of its time. While a row is in
-- practice_search_deferred (only ever inside an import's transaction: WriteTx::BeginBulk
-- puts it there and WriteTx::FinishNameIndex takes it out before the commit), the triggers queue
-- the practice's code in practice_search_pending instead, and FinishNameIndex re-indexes the
-- queued practices in one statement. Outside an import (and in every committed state) the table
-- is empty and the triggers index at once, as in step 8.
CREATE TABLE practice_search_deferred (
  id INTEGER PRIMARY KEY CHECK (id = 1)
);
CREATE TABLE practice_search_pending (
  ods_code TEXT PRIMARY KEY
) WITHOUT ROWID;
DROP TRIGGER practice_search_insert;
DROP TRIGGER practice_search_update;
CREATE TRIGGER practice_search_insert AFTER INSERT ON practice BEGIN
  INSERT INTO practice_search_row (ods_code) VALUES (new.ods_code)
    ON CONFLICT (ods_code) DO NOTHING;
  INSERT INTO practice_search (rowid, name)
    SELECT id, LOWER(new.display_name) FROM practice_search_row
    WHERE ods_code = new.ods_code AND NOT EXISTS (SELECT 1 FROM practice_search_deferred);
  INSERT INTO practice_search_pending (ods_code)
    SELECT new.ods_code WHERE EXISTS (SELECT 1 FROM practice_search_deferred)
    ON CONFLICT (ods_code) DO NOTHING;
END;
CREATE TRIGGER practice_search_update AFTER UPDATE OF display_name ON practice
  WHEN old.display_name IS NOT new.display_name BEGIN
  UPDATE practice_search SET name = LOWER(new.display_name)
    WHERE rowid = (SELECT id FROM practice_search_row WHERE ods_code = new.ods_code)
    AND NOT EXISTS (SELECT 1 FROM practice_search_deferred);
  INSERT INTO practice_search_pending (ods_code)
    SELECT new.ods_code WHERE EXISTS (SELECT 1 FROM practice_search_deferred)
    ON CONFLICT (ods_code) DO NOTHING;
END;
