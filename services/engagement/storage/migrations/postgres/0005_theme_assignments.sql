-- Who coded what (issue 17): per response, who assigned each of its themes, when and how (by
-- hand, or by which theme coding and rule). Encoded by storage/response_rows.cc (one line per
-- theme); '' for responses whose themes were assigned before this was recorded.
ALTER TABLE response ADD COLUMN theme_assignments TEXT NOT NULL DEFAULT '';
