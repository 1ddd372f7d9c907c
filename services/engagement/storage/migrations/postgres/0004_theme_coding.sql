-- Bulk theme codings (issue 17): who applied which keyword rules to an activity, when, and what
-- they did (`coding` is the v1.ThemeCoding as protobuf JSON).
CREATE TABLE theme_coding (
  activity_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  coding TEXT NOT NULL,
  PRIMARY KEY (activity_id, seq)
);
