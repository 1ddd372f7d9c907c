-- Pre-lane version 3: practices an activity's responses may name beyond the commissioner's open
-- ones ('\n'-joined practices/{code}); activities stored before it allow none.
ALTER TABLE activity ADD COLUMN allowed_practices TEXT NOT NULL DEFAULT '';
