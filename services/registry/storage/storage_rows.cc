#include "services/registry/storage/storage_rows.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/storage/etag.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"

namespace dorset::registry::storage_rows {
namespace {

using google::protobuf::util::TimeUtil;
using runtime::storage::Statement;

// A practice whose stored message cannot be read at all is served from its indexed columns
// (SELECT ods_code, display_name, status, prescribing_setting, commissioner, locality_id,
// list_size, revision at `first`), so one damaged row never fails a list.
v1::Practice PracticeFromColumns(const Statement& stmt, int first) {
  v1::Practice p;
  p.set_ods_code(TextColumn(stmt, first));
  p.set_name(absl::StrCat("practices/", p.ods_code()));
  p.set_display_name(TextColumn(stmt, first + 1));
  p.set_status(static_cast<v1::Practice::Status>(stmt.Int(first + 2)));
  p.set_prescribing_setting(static_cast<int32_t>(stmt.Int(first + 3)));
  p.set_commissioner(TextColumn(stmt, first + 4));
  if (!stmt.IsNull(first + 5))
    p.set_locality(absl::StrCat("localities/", TextColumn(stmt, first + 5)));
  if (!stmt.IsNull(first + 6)) p.set_list_size(stmt.Int(first + 6));
  p.set_etag(runtime::storage::Etag(stmt.Int(first + 7)));
  return p;
}

}  // namespace

google::protobuf::Timestamp FromMicros(int64_t micros) {
  return TimeUtil::MicrosecondsToTimestamp(micros);
}

absl::StatusOr<v1::Practice> ParsePractice(const std::string& bytes) {
  v1::Practice practice;
  if (!ParseStored(bytes, practice)) return runtime::Internal("stored practice unreadable");
  return practice;
}

// Stored TEXT as valid UTF-8 (rows the migration repaired never need this; it keeps one row
// written around the store from failing a whole reply).
std::string TextColumn(const Statement& stmt, int column) {
  std::string text = stmt.Text(column);
  if (std::optional<std::string> fixed = RepairedText(text)) return *std::move(fixed);
  return text;
}

// Reads the practice of a row selected as (data, <kPracticeColumns>...) starting at `data`,
// whose data column holds `bytes`. False when it had to be served from its columns.
bool ReadPracticeRow(const Statement& stmt, int data, std::string_view bytes,
                     v1::Practice& practice) {
  if (ParseStored(bytes, practice)) {
    // The revision column is the truth: a row written by an earlier release carries its etag
    // in the message in that release's spelling.
    practice.set_etag(runtime::storage::Etag(stmt.Int(data + 8)));
    return true;
  }
  runtime::log::Error("stored practice unreadable; served from its columns",
                      {{"ods_code", ForReply(stmt.Text(data + 1))}});
  practice = PracticeFromColumns(stmt, data + 1);
  return false;
}

v1::Practice ReadPracticeRow(const Statement& stmt, int data) {
  v1::Practice practice;
  ReadPracticeRow(stmt, data, stmt.Blob(data), practice);
  return practice;
}

// A change whose stored payload cannot be read keeps its place in the feed (sequence, kind,
// resource, time, source) without the resource's state: the feed never has a gap.
v1::Change ReadChangeRow(const Statement& stmt, int seq) {
  v1::Change change;
  if (!ParseStored(stmt.Blob(seq + 1), change)) {
    runtime::log::Error("stored change unreadable; sent without its state",
                        {{"sequence", stmt.Int(seq)}});
    change.Clear();
    change.set_kind(static_cast<v1::Change::Kind>(stmt.Int(seq + 2)));
    change.set_resource(TextColumn(stmt, seq + 3));
    *change.mutable_commit_time() = TimeUtil::MicrosecondsToTimestamp(stmt.Int(seq + 4));
    change.set_source(TextColumn(stmt, seq + 5));
  }
  change.set_sequence(stmt.Int(seq));
  return change;
}

}  // namespace dorset::registry::storage_rows
