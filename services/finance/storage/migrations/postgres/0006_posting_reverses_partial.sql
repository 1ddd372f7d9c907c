-- "A posting is reversed at most once" needs only the postings that reverse one, so the index
-- that keeps it becomes partial: step 1's `reverses BIGINT UNIQUE` (posting_reverses_key) took
-- an entry for every posting, NULL included (almost every posting reverses nothing), and every
-- insert paid for it (issue 16, bench/README.md "Session 25"). The same index as SQLite's
-- step 6; made before the constraint goes, in this step's one transaction.
CREATE UNIQUE INDEX posting_reverses ON posting(reverses) WHERE reverses IS NOT NULL;
ALTER TABLE posting DROP CONSTRAINT posting_reverses_key;
