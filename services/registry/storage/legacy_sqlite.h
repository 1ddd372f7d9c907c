// A registry.db written before the storage lane: runtime/sqlite's migrations recorded its schema
// version (1..4) in PRAGMA user_version, and version 2 repairs text written before the registry
// checked it (Windows-1252 bytes inside the stored messages and columns, issue 10) with SQL
// functions implemented in C++. UpgradePreLaneStore brings such a file to version 4 exactly as
// the earlier releases would have (the same steps, the repair functions registered), so that
// runtime/storage's AdoptUserVersion can carry it over as lane steps 1..4. A new file, or one
// already on the lane, is left alone. Called by Store::Open before opening the lane's Database.
#ifndef DORSET_SERVICES_REGISTRY_STORAGE_LEGACY_SQLITE_H_
#define DORSET_SERVICES_REGISTRY_STORAGE_LEGACY_SQLITE_H_

#include <string>

#include "absl/status/status.h"

namespace dorset::registry {

absl::Status UpgradePreLaneStore(const std::string& path);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_STORAGE_LEGACY_SQLITE_H_
