-- Scheme attributes that finance reports split by (docs/finance.md "Scheme attributes"): the
-- saving's recurrence and the scheme's maturity as the proto's enum numbers (0 = not recorded),
-- and its senior responsible owner. Existing schemes keep "not recorded".
ALTER TABLE node ADD COLUMN recurrence INTEGER NOT NULL DEFAULT 0 CHECK (recurrence BETWEEN 0 AND 2);
ALTER TABLE node ADD COLUMN maturity INTEGER NOT NULL DEFAULT 0 CHECK (maturity BETWEEN 0 AND 4);
ALTER TABLE node ADD COLUMN senior_responsible_owner TEXT NOT NULL DEFAULT '';
