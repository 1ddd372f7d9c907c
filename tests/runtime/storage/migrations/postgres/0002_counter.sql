-- A counter the concurrency test increments, and one row a migration writes (counted once).
CREATE TABLE counter (id BIGINT PRIMARY KEY, value BIGINT NOT NULL CHECK (value >= 0));
INSERT INTO counter (id, value) VALUES (1, 0);
