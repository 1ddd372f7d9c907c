-- The walk of a common word's page (issue 16, practice_pages.cc "Pages of practices"): a page of
-- ACTIVE practices whose name contains "surgery" walks practice_by_status in code order and tests
-- each practice's name, ~3 entries for every practice on the page. With (status, ods_code) alone
-- every entry walked was a seek into the WITHOUT ROWID table to read display_name (SQLite defers
-- no seek for such a table). With display_name in the index the walk's test reads the index alone
-- (a covering index): the page's codes are chosen there and only the page's rows are read.
-- It replaces practice_by_status (its prefix serves every query that served): one index to keep,
-- as before.
CREATE INDEX IF NOT EXISTS practice_by_status_name ON practice(status, ods_code, display_name);
DROP INDEX IF EXISTS practice_by_status;
