-- Scheme attributes that finance reports split by (docs/finance.md "Scheme attributes"); the
-- same columns as SQLite's step 4. 0 = not recorded.
ALTER TABLE node ADD COLUMN recurrence BIGINT NOT NULL DEFAULT 0 CHECK (recurrence BETWEEN 0 AND 2);
ALTER TABLE node ADD COLUMN maturity BIGINT NOT NULL DEFAULT 0 CHECK (maturity BETWEEN 0 AND 4);
ALTER TABLE node ADD COLUMN senior_responsible_owner TEXT COLLATE "C" NOT NULL DEFAULT '';
