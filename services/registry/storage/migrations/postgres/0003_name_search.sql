-- Name search (issue 16): ListPractices' name_contains and name_prefix are served by a trigram
-- index (pg_trgm, a contrib extension shipped with PostgreSQL and trusted since 13, so the
-- database's owner may create it without being a superuser) instead of reading every practice.
-- The index is on exactly the expression the store filters on, LOWER(display_name), so the
-- planner uses it for `LOWER(display_name) LIKE '%...%'` and rechecks every row it finds:
-- results are exactly the scan's (store.cc, "Name search"). PostgreSQL maintains it with
-- every write to `practice`. A pattern with fewer than three characters has no trigram and is
-- served by the scan, as before.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX practice_by_name_trigram ON practice USING gin (LOWER(display_name) gin_trgm_ops);
