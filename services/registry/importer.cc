#include "services/registry/importer.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/request_id.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/registry/import_rows.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace {

constexpr int kMaxMismatchesListed = 1000;

// A sentinel that rolls back a validate-only import after the report is built.
const absl::Status& ValidateOnlyRollback() {
  static const auto* status = new absl::Status(absl::StatusCode::kCancelled, "validate only");
  return *status;
}

std::string SourceFor(v1::ImportKind kind) {
  switch (kind) {
    case v1::IMPORT_KIND_EPRACCUR:
      return "import:epraccur";
    case v1::IMPORT_KIND_LIST_SIZES:
      return "import:list-sizes";
    case v1::IMPORT_KIND_LOCALITIES:
      return "import:localities";
    case v1::IMPORT_KIND_PRACTICE_LOCALITIES:
      return "import:practice-localities";
    default:
      return "import";
  }
}

// A line of spaces is blank, not a record.
bool IsBlank(const CsvRecord& record) {
  return record.fields.size() == 1 && absl::StripAsciiWhitespace(record.fields[0]).empty();
}

// Makes the record's text acceptable (docs/registry.md, "Text and encodings"): a record that
// is not valid UTF-8 is read as Windows-1252, all its fields together. Returns the rejection
// reason when a field holds a control character.
std::optional<std::string> NormalizeText(CsvRecord& record, const RowImporter& rows,
                                         v1::ImportReport& report) {
  bool utf8 = true;
  for (const std::string& field : record.fields) utf8 = utf8 && IsValidUtf8(field);
  if (!utf8) {
    for (std::string& field : record.fields) field = AsUtf8(field);
    report.set_windows_1252_rows(report.windows_1252_rows() + 1);
  }
  for (size_t i = 0; i < record.fields.size(); ++i) {
    if (std::optional<char32_t> c = FirstControlCharacter(record.fields[i])) {
      return absl::StrCat(rows.FieldName(i), " contains a control character (", CodePointName(*c),
                          ")");
    }
  }
  return std::nullopt;
}

// Reads every record of `source` into `rows`. The import's counts are kept by `counts`.
absl::Status ReadRecords(CsvSource& source, v1::ImportKind kind, RowImporter& rows,
                         ImportCounts& counts) {
  v1::ImportReport& report = counts.report();
  CsvReader reader(source);
  CsvRecord record;
  std::string error;
  bool header_done = !rows.has_header();
  bool any = false;
  std::optional<v1::ImportKind> guess;
  while (true) {
    const CsvReader::Result result = reader.Next(record, error);
    if (result == CsvReader::Result::kEnd) break;
    if (result == CsvReader::Result::kRecord && IsBlank(record)) continue;
    any = true;
    if (!header_done) {
      if (result == CsvReader::Result::kMalformed) {
        return runtime::InvalidArgument(
            "data", absl::StrCat("the header row (line ", record.line, ") is malformed: ", error));
      }
      for (std::string& field : record.fields) field = AsUtf8(field);
      guess = GuessKind(record);
      RETURN_IF_ERROR(rows.Header(record));
      header_done = true;
      continue;
    }
    report.set_rows_read(report.rows_read() + 1);
    if (result == CsvReader::Result::kMalformed) {
      RETURN_IF_ERROR(rows.Flush());
      counts.Reject(record.line, error);
      continue;
    }
    if (!guess) guess = GuessKind(record);
    if (std::optional<std::string> why = NormalizeText(record, rows, report)) {
      RETURN_IF_ERROR(rows.Flush());
      counts.Reject(
          record.line, *why,
          kind == v1::IMPORT_KIND_EPRACCUR && !record.fields.empty() ? record.fields[0] : "");
      continue;
    }
    RETURN_IF_ERROR(rows.Row(record));
  }
  RETURN_IF_ERROR(rows.Flush());
  if (source.failed()) return runtime::Internal("reading the uploaded file failed");
  if (!any) return runtime::InvalidArgument("data", "the file is empty");
  if (!header_done) return runtime::InvalidArgument("data", "the file has no header row");
  // A file of another kind is rejected wholesale: say what it looks like.
  if (report.rows_read() > 0 && report.rejected() == report.rows_read() && guess &&
      *guess != kind) {
    report.set_looks_like(*guess);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckImportOptions(const v1::ImportOptions& options) {
  RETURN_IF_ERROR(CheckRequestText(options));
  if (options.kind() == v1::IMPORT_KIND_UNSPECIFIED || !v1::ImportKind_IsValid(options.kind())) {
    return runtime::InvalidArgument("options.kind",
                                    "must be EPRACCUR, LIST_SIZES, LOCALITIES or "
                                    "PRACTICE_LOCALITIES");
  }
  if (!options.commissioner().empty() && options.commissioner() != kAllCommissioners &&
      !IsOrganisationCode(options.commissioner())) {
    return runtime::InvalidArgument("options.commissioner",
                                    "must be an ODS commissioner code such as 11J, or \"all\"");
  }
  if (std::optional<std::string> problem = TextProblem(options.source_name(), 200)) {
    return runtime::InvalidArgument("options.source_name", *problem);
  }
  if (std::optional<std::string> problem = TextProblem(options.request_id(), 128)) {
    return runtime::InvalidArgument("options.request_id", *problem);
  }
  RETURN_IF_ERROR(runtime::CheckRequestId(options.request_id(), "options.request_id"));
  if (options.size_bytes() < 0) {
    return runtime::InvalidArgument("options.size_bytes", "must not be negative");
  }
  return absl::OkStatus();
}

absl::StatusOr<ImportOutcome> RunImport(Store& store, const v1::ImportOptions& options,
                                        std::string_view content, const std::string& actor) {
  StringSource source(content);
  return RunImport(store, options, source,
                   options.request_id().empty() ? "" : runtime::RequestHash(options, content),
                   actor);
}

absl::StatusOr<ImportOutcome> RunImport(Store& store, const v1::ImportOptions& options,
                                        CsvSource& source, std::string_view request_hash,
                                        const std::string& actor) {
  RETURN_IF_ERROR(CheckImportOptions(options));
  const std::string commissioner =
      options.commissioner().empty() ? std::string(kDorsetCommissioner) : options.commissioner();

  ImportOutcome outcome;
  v1::ImportReport& report = outcome.report;
  const std::string method = "ImportFile";
  bool repeated = false;
  int attempts = 0;
  absl::StatusOr<std::vector<CommittedChange>> committed =
      store.Write(SourceFor(options.kind()), actor, [&](WriteTx& tx) -> absl::Status {
        // A transaction the database runs again (store.h) reads the file from its start.
        if (attempts++ > 0 && !source.Rewind()) {
          return absl::UnavailableError("the import's transaction must run again; send it again");
        }
        repeated = false;
        outcome = ImportOutcome();
        report.Clear();
        report.set_kind(options.kind());
        report.set_commissioner(commissioner);
        report.set_validate_only(options.validate_only());
        if (!options.request_id().empty() && !options.validate_only()) {
          ASSIGN_OR_RETURN(std::optional<std::string> stored,
                           tx.FindRequest(options.request_id(), method, std::string(request_hash)));
          if (stored.has_value()) {
            if (!ParseStored(*stored, report)) return runtime::Internal("stored report");
            repeated = true;
            return absl::OkStatus();
          }
        }
        RETURN_IF_ERROR(tx.ResetSeen());
        RETURN_IF_ERROR(tx.BeginBulk());  // names indexed once, before the commit
        ImportCounts counts(report);
        std::unique_ptr<RowImporter> rows = MakeRowImporter(
            options.kind(), tx, commissioner, counts, options.override_local_closures());
        RETURN_IF_ERROR(ReadRecords(source, options.kind(), *rows, counts));
        RETURN_IF_ERROR(tx.ResetSeen());
        if (options.kind() == v1::IMPORT_KIND_EPRACCUR ||
            options.kind() == v1::IMPORT_KIND_LIST_SIZES) {
          int total = 0;
          ASSIGN_OR_RETURN(auto mismatches,
                           tx.Mismatches(commissioner == kAllCommissioners ? "" : commissioner,
                                         kMaxMismatchesListed, &total));
          for (auto& m : mismatches) *report.add_mismatches() = std::move(m);
          report.set_mismatch_count(total);
        }
        if (tx.change_count() > 0) {
          report.set_first_sequence(tx.first_sequence());
          report.set_last_sequence(tx.last_sequence());
        }
        RETURN_IF_ERROR(CheckReportArithmetic(report));
        if (options.validate_only()) return ValidateOnlyRollback();
        if (!options.request_id().empty()) {
          RETURN_IF_ERROR(tx.SaveRequest(options.request_id(), method, std::string(request_hash),
                                         report.SerializeAsString()));
        }
        outcome.changes_unlisted = tx.unlisted_changes() > 0;
        outcome.unlisted_commissioners = tx.unlisted_commissioners();
        return absl::OkStatus();
      });
  if (!committed.ok()) {
    if (options.validate_only() && committed.status() == ValidateOnlyRollback()) {
      report.set_first_sequence(0);
      report.set_last_sequence(0);
      return outcome;
    }
    return committed.status();
  }
  if (!repeated) outcome.changes = *std::move(committed);
  return outcome;
}

absl::Status CheckReportArithmetic(const v1::ImportReport& r) {
  const int64_t accounted = static_cast<int64_t>(r.rows_skipped()) + r.added() + r.changed() +
                            r.unchanged() + r.rejected();
  if (accounted != r.rows_read()) {
    return runtime::Internal(absl::StrCat("import counts do not add up: rows read ", r.rows_read(),
                                          " but skipped + added + changed + unchanged + "
                                          "rejected = ",
                                          accounted));
  }
  if (r.rejections_size() > r.rejected()) return runtime::Internal("more rejections than listed");
  std::string bytes;
  if (!r.SerializeToString(&bytes)) return runtime::Internal("import report does not serialize");
  v1::ImportReport reparsed;
  if (!reparsed.ParseFromString(bytes)) {
    return runtime::Internal("import report has a string that is not valid UTF-8");
  }
  return absl::OkStatus();
}

}  // namespace dorset::registry
