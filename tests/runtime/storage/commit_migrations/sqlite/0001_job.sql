-- The group-commit tests' table.
CREATE TABLE job (
  id BIGINT PRIMARY KEY,
  name TEXT NOT NULL
);
