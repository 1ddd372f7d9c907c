-- "A posting is reversed at most once" needs only the postings that reverse one, so the index
-- that keeps it becomes partial: the inline `reverses INTEGER UNIQUE` of step 1 stored an entry
-- for every posting, NULL included (almost every posting reverses nothing), and every insert
-- paid for it (issue 16, bench/README.md "Session 25"). SQLite cannot drop an inline UNIQUE, so
-- the table is rebuilt: its rows wait in a scratch table while posting is dropped and made again
-- without it, then come back in id order, with its indexes and its no-update and no-delete
-- triggers as before. posting_chain's key and posting's own `reverses` key name the table, so
-- they follow the new one; they are checked at this step's commit (defer_foreign_keys: the
-- drop's implicit delete counts their rows as missing, the rows' return counts them found).
PRAGMA defer_foreign_keys = ON;
CREATE TABLE posting_rebuild AS SELECT * FROM posting;
DROP TABLE posting;
CREATE TABLE posting (
  id INTEGER PRIMARY KEY,
  scheme_id INTEGER NOT NULL REFERENCES node(id),
  year INTEGER NOT NULL,
  month INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),
  amount_pence INTEGER NOT NULL,
  principal TEXT NOT NULL,
  create_micros INTEGER NOT NULL,
  reason TEXT NOT NULL,
  request_id TEXT NOT NULL,
  reverses INTEGER REFERENCES posting(id)
);
INSERT INTO posting (id, scheme_id, year, month, kind, amount_pence, principal, create_micros,
                     reason, request_id, reverses)
  SELECT id, scheme_id, year, month, kind, amount_pence, principal, create_micros, reason,
         request_id, reverses
  FROM posting_rebuild ORDER BY id;
DROP TABLE posting_rebuild;
CREATE INDEX posting_scheme ON posting(scheme_id, id);
CREATE UNIQUE INDEX posting_reverses ON posting(reverses) WHERE reverses IS NOT NULL;
CREATE TRIGGER posting_no_update BEFORE UPDATE ON posting
  BEGIN SELECT RAISE(ABORT, 'postings are immutable'); END;
CREATE TRIGGER posting_no_delete BEFORE DELETE ON posting
  BEGIN SELECT RAISE(ABORT, 'postings are immutable'); END;
