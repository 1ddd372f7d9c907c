-- Month-end close and the tamper-evident ledger (docs/finance.md); the same tables as SQLite's
-- step 3. A month with no period row is OPEN. Seals, closed reports and chain links are
-- insert-only (the trigger function of step 1), like postings.
CREATE TABLE period (
  year BIGINT NOT NULL,
  month BIGINT NOT NULL CHECK (month BETWEEN 1 AND 12),
  state BIGINT NOT NULL CHECK (state BETWEEN 1 AND 3),
  seal_id BIGINT,
  update_micros BIGINT NOT NULL,
  PRIMARY KEY (year, month)
);

CREATE TABLE period_seal (
  id BIGINT PRIMARY KEY,
  year BIGINT NOT NULL,
  month BIGINT NOT NULL,
  action TEXT NOT NULL,
  head_posting_id BIGINT NOT NULL,
  head_hash TEXT NOT NULL,
  posting_count BIGINT NOT NULL,
  snapshot_digest TEXT NOT NULL,
  principal TEXT NOT NULL,
  reason TEXT NOT NULL,
  create_micros BIGINT NOT NULL,
  signature TEXT NOT NULL
);
CREATE INDEX period_seal_year ON period_seal(year, id);
CREATE FUNCTION sealed_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER period_seal_no_update BEFORE UPDATE OR DELETE ON period_seal
  FOR EACH ROW EXECUTE FUNCTION sealed_immutable();

CREATE TABLE closed_report (
  seal_id BIGINT NOT NULL REFERENCES period_seal(id),
  plan TEXT COLLATE "C" NOT NULL,
  report BYTEA NOT NULL,
  PRIMARY KEY (seal_id, plan)
);
CREATE TRIGGER closed_report_no_update BEFORE UPDATE OR DELETE ON closed_report
  FOR EACH ROW EXECUTE FUNCTION sealed_immutable();

CREATE TABLE posting_chain (
  posting_id BIGINT PRIMARY KEY REFERENCES posting(id),
  year BIGINT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX posting_chain_year ON posting_chain(year, posting_id);
CREATE TRIGGER posting_chain_no_update BEFORE UPDATE OR DELETE ON posting_chain
  FOR EACH ROW EXECUTE FUNCTION sealed_immutable();
