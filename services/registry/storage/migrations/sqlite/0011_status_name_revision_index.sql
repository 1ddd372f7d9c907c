-- The walk of a common word's page without its rows (issue 16, practice_pages.cc
-- KeptWalkSelect): with each practice's revision in the walked index, a page in code order is
-- chosen from the index alone as (ods_code, revision), and each practice's reply bytes come from
-- the registry's memo of them for exactly that revision (practice_bytes.h, AppendKeptField), so
-- the page's rows are no longer read (a seek each, ten columns decoded). The index keeps its name
-- and every use of step 10's (status, ods_code, display_name), now a prefix of it: one index to
-- keep, as before.
DROP INDEX IF EXISTS practice_by_status_name;
CREATE INDEX practice_by_status_name ON practice(status, ods_code, display_name, revision);
