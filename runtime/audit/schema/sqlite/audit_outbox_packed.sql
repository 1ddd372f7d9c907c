-- The audit outbox's packed rows (issue 16, session 25; runtime/audit/outbox_packing.h): a group
-- committer writes ONE row per group, its events packed into `events`, counted in `event_count`;
-- its other columns are then the first event's time and empty texts. A row an older version wrote
-- (one event in the columns, as audit_outbox.sql made them) has `events` NULL and a count of 1,
-- and is still moved as it was: the trail's writer reads both forms in id order, under the same
-- mark. Every service with an outbox includes this after audit_outbox.sql.
ALTER TABLE audit_outbox ADD COLUMN events BLOB;
ALTER TABLE audit_outbox ADD COLUMN event_count INTEGER NOT NULL DEFAULT 1;
