-- Month-end close and the tamper-evident ledger (docs/finance.md). A month with no period row is
-- OPEN. Seals, closed reports and chain links are insert-only (triggers), like postings.
CREATE TABLE period (
  year INTEGER NOT NULL,
  month INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
  state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 3),  -- 1 OPEN, 2 CLOSING, 3 CLOSED
  seal_id INTEGER,  -- the seal of its current close (CLOSED only)
  update_micros INTEGER NOT NULL,
  PRIMARY KEY (year, month)
) WITHOUT ROWID;

-- Every close and reopen, signed with HMAC-SHA-256 under a key kept outside the database.
CREATE TABLE period_seal (
  id INTEGER PRIMARY KEY,
  year INTEGER NOT NULL,
  month INTEGER NOT NULL,
  action TEXT NOT NULL,
  head_posting_id INTEGER NOT NULL,
  head_hash TEXT NOT NULL,
  posting_count INTEGER NOT NULL,
  snapshot_digest TEXT NOT NULL,
  principal TEXT NOT NULL,
  reason TEXT NOT NULL,
  create_micros INTEGER NOT NULL,
  signature TEXT NOT NULL
);
CREATE INDEX period_seal_year ON period_seal(year, id);
CREATE TRIGGER period_seal_no_update BEFORE UPDATE ON period_seal
  BEGIN SELECT RAISE(ABORT, 'seals are immutable'); END;
CREATE TRIGGER period_seal_no_delete BEFORE DELETE ON period_seal
  BEGIN SELECT RAISE(ABORT, 'seals are immutable'); END;

-- Each plan's report for a closed month as it stood at the close (deterministic protobuf bytes).
CREATE TABLE closed_report (
  seal_id INTEGER NOT NULL REFERENCES period_seal(id),
  plan TEXT NOT NULL,
  report BLOB NOT NULL,
  PRIMARY KEY (seal_id, plan)
) WITHOUT ROWID;
CREATE TRIGGER closed_report_no_update BEFORE UPDATE ON closed_report
  BEGIN SELECT RAISE(ABORT, 'closed reports are immutable'); END;
CREATE TRIGGER closed_report_no_delete BEFORE DELETE ON closed_report
  BEGIN SELECT RAISE(ABORT, 'closed reports are immutable'); END;

-- Each posting's link in its financial year's chain. Postings from before this step get theirs
-- when the store next opens for writing (services/finance/storage/chain.cc, BackfillChain).
CREATE TABLE posting_chain (
  posting_id INTEGER PRIMARY KEY REFERENCES posting(id),
  year INTEGER NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX posting_chain_year ON posting_chain(year, posting_id);
CREATE TRIGGER posting_chain_no_update BEFORE UPDATE ON posting_chain
  BEGIN SELECT RAISE(ABORT, 'the chain is immutable'); END;
CREATE TRIGGER posting_chain_no_delete BEFORE DELETE ON posting_chain
  BEGIN SELECT RAISE(ABORT, 'the chain is immutable'); END;
