-- The contract tests' table: every column type the lane binds and reads.
CREATE TABLE item (
  id BIGINT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  note TEXT,
  payload BYTEA,
  amount BIGINT
);
