// Fuzzes the decoding of stored rows: any bytes as a stored Practice, Change or import report
// go through the text repair (stored_text.h), and as a practice's `data` and a change's
// `payload` through the store's read paths, which must always answer (a damaged row is served
// from its columns, never an error for the whole list or feed).
#include <cstdint>
#include <string>

#include "fuzz/fuzz_store.h"
#include "runtime/sqlite/database.h"
#include "services/registry/stored_text.h"

namespace {

namespace v1 = dorset::registry::v1;

void CheckRepair(const google::protobuf::Descriptor* type, google::protobuf::Message& message,
                 const std::string& bytes) {
  std::optional<std::string> fixed = dorset::registry::RepairedMessageBytes(type, bytes);
  // Repairing twice changes nothing more.
  if (fixed && dorset::registry::RepairedMessageBytes(type, *fixed)) __builtin_trap();
  // What parses is valid UTF-8 throughout.
  if (dorset::registry::ParseStored(bytes, message) &&
      !dorset::registry::CheckRequestText(message).ok()) {
    __builtin_trap();
  }
}

dorset::runtime::sqlite::Database& RawDb() {
  static auto* db = [] {
    dorset::fuzz::FuzzStore();  // schema first
    auto opened = dorset::runtime::sqlite::Database::Open(dorset::fuzz::FuzzDir() + "/registry.db");
    if (!opened.ok()) __builtin_trap();
    return opened->release();
  }();
  return *db;
}

void CheckStoreReads(const std::string& bytes) {
  dorset::runtime::sqlite::Database& db = RawDb();
  auto practice = db.Prepare(
      "INSERT OR REPLACE INTO practice (ods_code, display_name, postcode_key, status, "
      "prescribing_setting, commissioner, locality_id, list_size, update_time, revision, data) "
      "VALUES ('J00001', ?, 'BH151AA', 1, 4, '11J', NULL, NULL, 0, 1, ?)");
  if (!practice.ok()) __builtin_trap();
  practice->Bind(1, bytes.substr(0, 16)).BindBlob(2, bytes);
  if (!practice->Run().ok()) __builtin_trap();
  auto change = db.Prepare(
      "INSERT INTO change (kind, resource, commit_time, source, actor, payload) "
      "VALUES (1, ?, 0, 'fuzz', ?, ?)");
  if (!change.ok()) __builtin_trap();
  change->Bind(1, bytes.substr(0, 8)).Bind(2, bytes.substr(0, 8)).BindBlob(3, bytes);
  if (!change->Run().ok()) __builtin_trap();
  const int64_t seq = db.LastInsertRowId();

  dorset::registry::Store& store = dorset::fuzz::FuzzStore();
  auto got = store.GetPractice("J00001");
  if (!got.ok() || !got->has_value()) __builtin_trap();
  if (!dorset::registry::CheckRequestText(**got).ok()) __builtin_trap();
  if (!store.ListPractices({}, std::nullopt, 10).ok()) __builtin_trap();
  auto changes = store.ChangesAfter(seq - 1, 1);
  if (!changes.ok() || changes->size() != 1 || (*changes)[0].sequence() != seq) __builtin_trap();
  if (!dorset::registry::CheckRequestText((*changes)[0]).ok()) __builtin_trap();
  if (!store.ListRevisions("J00001", INT64_MAX, 10).ok()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  v1::Practice practice;
  CheckRepair(v1::Practice::descriptor(), practice, bytes);
  v1::Change change;
  CheckRepair(v1::Change::descriptor(), change, bytes);
  v1::ImportReport report;
  CheckRepair(v1::ImportReport::descriptor(), report, bytes);
  CheckStoreReads(bytes);
  return 0;
}
