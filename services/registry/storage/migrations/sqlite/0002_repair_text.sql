-- Version 2 of the pre-lane store repaired text written before the registry checked it
-- (Latin-1 epraccur or localities files): non-UTF-8 strings decoded as Windows-1252, in the
-- indexed columns and inside the stored messages. That repair needs C++ (it walks the protobuf
-- wire format), so it runs for a pre-lane registry.db only, through runtime/sqlite with the
-- repair functions registered (storage/legacy_sqlite.cc, UpgradePreLaneStore), before the lane
-- adopts the file. A store the lane creates holds only checked text: nothing to repair here.
SELECT 1;
