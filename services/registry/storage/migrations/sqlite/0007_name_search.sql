-- Name search (issue 16): ListPractices' name_contains and name_prefix are served by a trigram
-- index instead of reading every practice. FTS5's trigram tokenizer (SQLite >= 3.34) indexes
-- every run of three characters of each display name, case-folded; a phrase of three or more
-- characters then finds the names containing it. The store still applies the same LIKE filter
-- to the rows it finds, so results are exactly the scan's (store.cc, "Name search").
--
-- `practice` is WITHOUT ROWID, so the index is keyed by practice_search_row.id, one per
-- ods_code (an ods_code never changes). The triggers keep both tables in step with every
-- write to `practice`, in the writer's transaction: nothing in the service has to remember.
CREATE TABLE practice_search_row (
  id INTEGER PRIMARY KEY,
  ods_code TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE practice_search USING fts5(display_name, tokenize = 'trigram');
INSERT INTO practice_search_row (ods_code) SELECT ods_code FROM practice ORDER BY ods_code;
INSERT INTO practice_search (rowid, display_name)
  SELECT r.id, p.display_name FROM practice p JOIN practice_search_row r ON r.ods_code = p.ods_code;
CREATE TRIGGER practice_search_insert AFTER INSERT ON practice BEGIN
  INSERT INTO practice_search_row (ods_code) VALUES (new.ods_code)
    ON CONFLICT (ods_code) DO NOTHING;
  INSERT INTO practice_search (rowid, display_name)
    SELECT id, new.display_name FROM practice_search_row WHERE ods_code = new.ods_code;
END;
CREATE TRIGGER practice_search_update AFTER UPDATE OF display_name ON practice
  WHEN old.display_name IS NOT new.display_name BEGIN
  UPDATE practice_search SET display_name = new.display_name
    WHERE rowid = (SELECT id FROM practice_search_row WHERE ods_code = new.ods_code);
END;
CREATE TRIGGER practice_search_delete AFTER DELETE ON practice BEGIN
  DELETE FROM practice_search
    WHERE rowid = (SELECT id FROM practice_search_row WHERE ods_code = old.ods_code);
  DELETE FROM practice_search_row WHERE ods_code = old.ods_code;
END;
