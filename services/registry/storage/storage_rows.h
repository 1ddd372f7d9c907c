// Reading the registry store's rows (services/registry/storage): the helpers the store's
// parts share -- the write transaction (write_tx.cc), the pages of practices
// (practice_pages.cc), the area reads (area_reads.cc) and the store itself (store.cc). Internal
// to this folder; callers use store.h.
//
//   using storage_rows::ReadPracticeRow;
//   ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(absl::StrCat("SELECT data, ", kPracticeColumns,
//                                                           " FROM practice WHERE ods_code = ?")));
//   ... if (*row) practice = ReadPracticeRow(stmt, 0);
#ifndef DORSET_SERVICES_REGISTRY_STORAGE_STORAGE_ROWS_H_
#define DORSET_SERVICES_REGISTRY_STORAGE_STORAGE_ROWS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "dorset/registry/v1/registry.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "runtime/storage/database.h"

namespace dorset::registry::storage_rows {

// The indexed columns of a practice row, in the order ReadPracticeRow expects after `data`.
inline constexpr char kPracticeColumns[] =
    "ods_code, display_name, status, prescribing_setting, commissioner, locality_id, list_size, "
    "revision";

google::protobuf::Timestamp FromMicros(int64_t micros);

absl::StatusOr<v1::Practice> ParsePractice(const std::string& bytes);

// Stored TEXT as valid UTF-8 (rows the migration repaired never need this; it keeps one row
// written around the store from failing a whole reply).
std::string TextColumn(const runtime::storage::Statement& stmt, int column);

// Reads the practice of a row selected as (data, <kPracticeColumns>...) starting at `data`,
// whose data column holds `bytes`. False when it had to be served from its columns (a message
// that cannot be read at all: one damaged row never fails a list).
bool ReadPracticeRow(const runtime::storage::Statement& stmt, int data, std::string_view bytes,
                     v1::Practice& practice);
v1::Practice ReadPracticeRow(const runtime::storage::Statement& stmt, int data);

// A change whose stored payload cannot be read keeps its place in the feed (sequence, kind,
// resource, time, source) without the resource's state: the feed never has a gap. The row is
// selected as (seq, data, kind, resource, commit_micros, source) starting at `seq`.
v1::Change ReadChangeRow(const runtime::storage::Statement& stmt, int seq);

}  // namespace dorset::registry::storage_rows

#endif  // DORSET_SERVICES_REGISTRY_STORAGE_STORAGE_ROWS_H_
