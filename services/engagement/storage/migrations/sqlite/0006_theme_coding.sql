-- Bulk theme codings (issue 17): who applied which keyword rules to an activity, when, and what
-- they did (`coding` is the v1.ThemeCoding as protobuf JSON).
CREATE TABLE theme_coding (
  activity_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  coding TEXT NOT NULL,
  PRIMARY KEY (activity_id, seq)
);
