-- The national import's writes (issue 16). Measured on the national extract into an empty store
-- (16,534 practices, 2026-12-01): 263 MB of WAL and ~2 s of PostgreSQL's CPU more than the same
-- import without the name index, because with step 4's fastupdate = off every practice written
-- put each trigram of its name into the GIN index in place (a descent, a page rewritten and
-- logged per trigram).
--
-- With fastupdate on, a write appends its entries to the index's pending list, and the store
-- merges the list into the index before every commit that wrote a practice
-- (WriteTx::FinishSequences: gin_clean_pending_list, which inserts the entries sorted, in bulk;
-- PostgreSQL also merges it on its own whenever it passes gin_pending_list_limit). The import
-- then wrote 39 MB of WAL in all, and its PostgreSQL CPU fell from 3.2-4.8 s to 1.2-1.8 s. No
-- committed write leaves entries pending, so step 4's reason stands: a search never reads a long
-- pending list.
ALTER INDEX practice_by_name_trigram SET (fastupdate = on);
-- An import's scratch table is empty outside the import's transaction: nothing in it needs to
-- survive a crash (PostgreSQL empties an unlogged table after one), so its rows are not logged.
ALTER TABLE import_seen SET UNLOGGED;
