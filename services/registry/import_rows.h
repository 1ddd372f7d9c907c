// One handler per import kind: checks a record's fields and applies a good row to the store
// at once (inside the import's transaction). Every record handed to Row() is counted exactly
// once in the report (skipped, added, changed, unchanged or rejected). Used by importer.cc.
#ifndef DORSET_SERVICES_REGISTRY_IMPORT_ROWS_H_
#define DORSET_SERVICES_REGISTRY_IMPORT_ROWS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "dorset/registry/v1/registry.pb.h"
#include "services/registry/csv_reader.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

// The report being built, with the counting rules in one place.
class ImportCounts {
 public:
  explicit ImportCounts(v1::ImportReport& report) : report_(report) {}
  // Listed up to kMaxRejectionsListed; strings are made safe for the reply (text.h).
  void Reject(int line, std::string_view reason, std::string_view code = "");
  void Skip() { report_.set_rows_skipped(report_.rows_skipped() + 1); }
  void Add() { report_.set_added(report_.added() + 1); }
  void Change() { report_.set_changed(report_.changed() + 1); }
  void Keep() { report_.set_unchanged(report_.unchanged() + 1); }
  v1::ImportReport& report() { return report_; }

 private:
  v1::ImportReport& report_;
};

class RowImporter {
 public:
  virtual ~RowImporter() = default;
  virtual bool has_header() const { return true; }
  // The header record (already valid UTF-8): INVALID_ARGUMENT when a column is missing.
  virtual absl::Status Header(const CsvRecord& header) { return absl::OkStatus(); }
  // A human name for field `index` (0-based), for rejection reasons.
  virtual std::string FieldName(size_t index) const = 0;
  // One data record: valid UTF-8 without control characters. Errors abort the import. An
  // importer may hold good rows back and apply them in batches (epraccur, issue 16): the counts
  // and the report are then complete only after Flush().
  virtual absl::Status Row(const CsvRecord& record) = 0;
  // Applies the rows held back, in file order. Called at the end of the file, and before the
  // caller rejects a record itself, so that the report lists rejections in line order.
  virtual absl::Status Flush() { return absl::OkStatus(); }
};

// `commissioner` is already checked ("all" or an ODS code). `override_local_closures`:
// ImportOptions.override_local_closures (closure_policy.h).
std::unique_ptr<RowImporter> MakeRowImporter(v1::ImportKind kind, WriteTx& tx,
                                             const std::string& commissioner, ImportCounts& counts,
                                             bool override_local_closures = false);

// The kind of file `first` (its first record) looks like, or IMPORT_KIND_UNSPECIFIED.
v1::ImportKind GuessKind(const CsvRecord& first);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_IMPORT_ROWS_H_
