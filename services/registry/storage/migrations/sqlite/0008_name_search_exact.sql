-- Name search, exact (issue 16): step 7's index folded case the FTS5 way (Unicode), so the store
-- had to read every name it found again to apply LIKE's ASCII-only folding, and reading FTS5's
-- stored text back is most of the cost of a common word. This index holds LOWER(display_name)
-- (SQLite's LOWER folds ASCII only, as LIKE does) and matches case-sensitively, so a phrase of
-- three or more characters matches exactly the names `LOWER(display_name) LIKE '%text%'`
-- matches: the store uses it without the LIKE (store.cc, "Name search"). Same keys, same
-- triggers' places as step 7 (whose triggers have kept practice_search_row complete).
DROP TRIGGER practice_search_insert;
DROP TRIGGER practice_search_update;
DROP TRIGGER practice_search_delete;
DROP TABLE practice_search;
CREATE VIRTUAL TABLE practice_search USING fts5(name, tokenize = 'trigram case_sensitive 1');
INSERT INTO practice_search (rowid, name)
  SELECT r.id, LOWER(p.display_name) FROM practice p
  JOIN practice_search_row r ON r.ods_code = p.ods_code;
CREATE TRIGGER practice_search_insert AFTER INSERT ON practice BEGIN
  INSERT INTO practice_search_row (ods_code) VALUES (new.ods_code)
    ON CONFLICT (ods_code) DO NOTHING;
  INSERT INTO practice_search (rowid, name)
    SELECT id, LOWER(new.display_name) FROM practice_search_row WHERE ods_code = new.ods_code;
END;
CREATE TRIGGER practice_search_update AFTER UPDATE OF display_name ON practice
  WHEN old.display_name IS NOT new.display_name BEGIN
  UPDATE practice_search SET name = LOWER(new.display_name)
    WHERE rowid = (SELECT id FROM practice_search_row WHERE ods_code = new.ods_code);
END;
CREATE TRIGGER practice_search_delete AFTER DELETE ON practice BEGIN
  DELETE FROM practice_search
    WHERE rowid = (SELECT id FROM practice_search_row WHERE ods_code = old.ods_code);
  DELETE FROM practice_search_row WHERE ods_code = old.ods_code;
END;
