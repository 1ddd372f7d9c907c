-- The committed echo's one table (bench/committed_echo): a row a call in --commit=row.
CREATE TABLE echo_write (
  id BIGSERIAL PRIMARY KEY,
  message TEXT NOT NULL
);
