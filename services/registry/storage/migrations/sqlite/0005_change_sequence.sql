-- The change feed's counter (storage/write_tx.cc, "Change sequences"): one row holding the last
-- sequence handed out, updated in the transaction that appends changes, so sequences are
-- gap-free and in commit order on both engines. Starts after every sequence already used
-- (AUTOINCREMENT remembers deleted ones in sqlite_sequence).
CREATE TABLE change_sequence (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_seq INTEGER NOT NULL
);
INSERT INTO change_sequence (id, last_seq) VALUES (1, MAX(
  (SELECT COALESCE(MAX(seq), 0) FROM change),
  COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'change'), 0)));
