-- The committed echo's one table (bench/committed_echo): a row a call in --commit=row.
CREATE TABLE echo_write (
  id INTEGER PRIMARY KEY,
  message TEXT NOT NULL
);
