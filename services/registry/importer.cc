#include "services/registry/importer.h"

#include <map>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/registry/csv_reader.h"
#include "services/registry/practice_fields.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace {

constexpr int kEpraccurFields = 27;
constexpr int64_t kMaxListSize = 1'000'000;
constexpr int kMaxRejectionsListed = 1000;

// Field positions (0-based) in epraccur.csv.
enum EpraccurField {
  kCode = 0,
  kName = 1,
  kRegion = 2,
  kIcb = 3,
  kAddress1 = 4,
  kPostcode = 9,
  kOpenDate = 10,
  kCloseDate = 11,
  kStatus = 12,
  kSubType = 13,
  kCommissioner = 14,
  kJoinDate = 15,
  kLeftDate = 16,
  kTelephone = 17,
  kAmended = 21,
  kProvider = 23,
  kSetting = 25,
};

// A sentinel that rolls back a validate-only import after the report is built.
const absl::Status& ValidateOnlyRollback() {
  static const auto* status = new absl::Status(absl::StatusCode::kCancelled, "validate only");
  return *status;
}

class Report {
 public:
  explicit Report(v1::ImportReport& report) : report_(report) {}
  void Reject(int line, std::string reason, std::string code = "") {
    report_.set_rejected(report_.rejected() + 1);
    if (report_.rejections_size() >= kMaxRejectionsListed) return;
    auto* r = report_.add_rejections();
    r->set_line(line);
    r->set_reason(std::move(reason));
    r->set_ods_code(std::move(code));
  }

 private:
  v1::ImportReport& report_;
};

// Whether `commissioner` keeps a row of `row_commissioner`.
bool InScope(const std::string& commissioner, const std::string& row_commissioner) {
  return commissioner == kAllCommissioners || row_commissioner == commissioner;
}

std::string Trimmed(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

// ---- epraccur ----

// Returns the practice, or a rejection reason.
std::optional<std::string> ParseEpraccurRow(const std::vector<std::string>& f, v1::Practice& p) {
  const std::string code = Trimmed(f[kCode]);
  if (!IsPracticeCode(code)) return "organisation code is not a practice code";
  p.set_ods_code(code);
  const std::string name = Trimmed(f[kName]);
  if (!IsGoodName(name)) return "name is empty or longer than 100 characters";
  p.set_display_name(name);
  std::vector<std::string> lines;
  for (int i = kAddress1; i < kAddress1 + kMaxAddressLines; ++i) {
    std::string line = Trimmed(f[i]);
    if (line.size() > static_cast<size_t>(kMaxAddressLineLength)) return "address line too long";
    lines.push_back(std::move(line));
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (std::string& line : lines) p.add_address_lines(std::move(line));
  const std::string postcode = Trimmed(f[kPostcode]);
  if (!postcode.empty()) {
    std::optional<std::string> normalized = NormalizePostcode(postcode);
    if (!normalized) return "postcode is not a UK postcode";
    p.set_postcode(*normalized);
  }
  std::optional<std::string> open = OdsDateToIso(Trimmed(f[kOpenDate]));
  if (!open) return "open date is not a date (YYYYMMDD)";
  p.set_open_date(*open);
  struct OptionalDate {
    int field;
    const char* what;
    void (v1::Practice::*set)(const std::string&);
  };
  const OptionalDate dates[] = {
      {kCloseDate, "close date", &v1::Practice::set_close_date},
      {kJoinDate, "join provider date", &v1::Practice::set_join_provider_date},
      {kLeftDate, "left provider date", &v1::Practice::set_left_provider_date},
  };
  for (const OptionalDate& d : dates) {
    const std::string text = Trimmed(f[d.field]);
    if (text.empty()) continue;
    std::optional<std::string> iso = OdsDateToIso(text);
    if (!iso) return absl::StrCat(d.what, " is not a date (YYYYMMDD)");
    (p.*d.set)(*iso);
  }
  if (!p.close_date().empty() && p.close_date() < p.open_date()) {
    return "close date is before open date";
  }
  const std::string status = Trimmed(f[kStatus]);
  if (status == "A") {
    p.set_status(v1::Practice::ACTIVE);
  } else if (status == "C") {
    p.set_status(v1::Practice::CLOSED);
  } else if (status == "D") {
    p.set_status(v1::Practice::DORMANT);
  } else if (status == "P") {
    p.set_status(v1::Practice::PROPOSED);
  } else {
    return "status is not A, C, D or P";
  }
  p.set_organisation_sub_type(Trimmed(f[kSubType]));
  for (int field : {kRegion, kIcb, kCommissioner}) {
    const std::string value = Trimmed(f[field]);
    if (!value.empty() && !IsOrganisationCode(value)) return "not an organisation code";
  }
  p.set_region(Trimmed(f[kRegion]));
  p.set_icb(Trimmed(f[kIcb]));
  p.set_commissioner(Trimmed(f[kCommissioner]));
  const std::string telephone = Trimmed(f[kTelephone]);
  if (!IsTelephone(telephone)) return "telephone is not a telephone number";
  p.set_telephone(telephone);
  const std::string amended = Trimmed(f[kAmended]);
  if (amended != "0" && amended != "1" && !amended.empty()) {
    return "amended record indicator is not 0 or 1";
  }
  p.set_amended_record(amended == "1");
  p.set_provider_purchaser(Trimmed(f[kProvider]));
  int setting = 0;
  if (!absl::SimpleAtoi(Trimmed(f[kSetting]), &setting) || setting < 0 || setting > 99) {
    return "prescribing setting is not a number 0-99";
  }
  p.set_prescribing_setting(setting);
  return std::nullopt;
}

absl::Status ApplyEpraccur(WriteTx& tx, std::vector<v1::Practice>& rows, v1::ImportReport& report) {
  for (v1::Practice& parsed : rows) {
    ASSIGN_OR_RETURN(std::optional<v1::Practice> existing, tx.LoadPractice(parsed.ods_code()));
    if (!existing.has_value()) {
      ASSIGN_OR_RETURN(std::optional<std::string> locality, tx.AssignedLocality(parsed.ods_code()));
      if (locality) parsed.set_locality(absl::StrCat("localities/", *locality));
      RETURN_IF_ERROR(tx.SavePractice(parsed, nullptr, v1::Change::PRACTICE_CREATED, {}));
      report.set_added(report.added() + 1);
      continue;
    }
    v1::Practice updated = *existing;
    CopyFields(parsed, updated, OdsFields());
    std::vector<std::string> changed = DiffFields(*existing, updated, OdsFields());
    if (changed.empty()) {
      report.set_unchanged(report.unchanged() + 1);
      continue;
    }
    const v1::Change::Kind kind =
        existing->status() != v1::Practice::CLOSED && updated.status() == v1::Practice::CLOSED
            ? v1::Change::PRACTICE_CLOSED
            : v1::Change::PRACTICE_UPDATED;
    RETURN_IF_ERROR(tx.SavePractice(updated, &*existing, kind, std::move(changed)));
    report.set_changed(report.changed() + 1);
  }
  return absl::OkStatus();
}

// ---- header-driven CSVs ----

// Column positions by (case-insensitive) header name; INVALID_ARGUMENT when one is missing.
absl::StatusOr<std::map<std::string, int>> HeaderColumns(const std::vector<std::string>& header,
                                                         const std::vector<std::string>& needed) {
  std::map<std::string, int> found;
  for (size_t i = 0; i < header.size(); ++i) {
    found[absl::AsciiStrToUpper(Trimmed(header[i]))] = static_cast<int>(i);
  }
  std::map<std::string, int> columns;
  for (const std::string& name : needed) {
    auto it = found.find(absl::AsciiStrToUpper(name));
    if (it == found.end()) {
      return runtime::InvalidArgument("data", absl::StrCat("the header has no ", name, " column"));
    }
    columns[name] = it->second;
  }
  return columns;
}

struct ListSizeRow {
  int line;
  std::string code;
  int64_t patients;
  std::string date;
};

struct LocalityFileRow {
  LocalityRow locality;
  ClusterRow cluster;
};

struct AssignmentRow {
  int line;
  std::string code;
  std::string locality_id;
};

// Reads every record; malformed ones are rejected in the report. The first record is the
// header when `has_header`.
std::vector<CsvRecord> ReadAll(std::string_view content, Report& rejects) {
  std::vector<CsvRecord> records;
  CsvReader reader(content);
  CsvRecord record;
  std::string error;
  while (true) {
    const CsvReader::Result result = reader.Next(record, error);
    if (result == CsvReader::Result::kEnd) break;
    if (result == CsvReader::Result::kMalformed) {
      rejects.Reject(record.line, error);
      continue;
    }
    records.push_back(record);
  }
  return records;
}

absl::Status ImportEpraccur(const std::vector<CsvRecord>& records, const std::string& commissioner,
                            v1::ImportReport& report, Report& rejects,
                            std::vector<v1::Practice>& rows) {
  std::map<std::string, int> first_line;
  for (const CsvRecord& record : records) {
    report.set_rows_read(report.rows_read() + 1);
    const auto& f = record.fields;
    if (static_cast<int>(f.size()) != kEpraccurFields) {
      rejects.Reject(record.line,
                     absl::StrCat("expected ", kEpraccurFields, " fields, found ", f.size()),
                     f.empty() ? "" : Trimmed(f[0]));
      continue;
    }
    if (!InScope(commissioner, Trimmed(f[kCommissioner]))) {
      report.set_rows_skipped(report.rows_skipped() + 1);
      continue;
    }
    v1::Practice practice;
    if (std::optional<std::string> why = ParseEpraccurRow(f, practice)) {
      rejects.Reject(record.line, *why, Trimmed(f[kCode]));
      continue;
    }
    auto [it, inserted] = first_line.emplace(practice.ods_code(), record.line);
    if (!inserted) {
      rejects.Reject(record.line, absl::StrCat("duplicate code (first at line ", it->second, ")"),
                     practice.ods_code());
      continue;
    }
    rows.push_back(std::move(practice));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ListSizeRow>> ParseListSizes(const std::vector<CsvRecord>& records,
                                                        const std::string& commissioner,
                                                        v1::ImportReport& report, Report& rejects) {
  if (records.empty()) return runtime::InvalidArgument("data", "the file has no header row");
  ASSIGN_OR_RETURN(auto columns, HeaderColumns(records[0].fields, {"CODE", "NUMBER_OF_PATIENTS",
                                                                   "EXTRACT_DATE", "CCG_CODE"}));
  std::vector<ListSizeRow> rows;
  std::map<std::string, int> first_line;
  for (size_t i = 1; i < records.size(); ++i) {
    const CsvRecord& record = records[i];
    report.set_rows_read(report.rows_read() + 1);
    if (record.fields.size() != records[0].fields.size()) {
      rejects.Reject(record.line, absl::StrCat("expected ", records[0].fields.size(),
                                               " fields, found ", record.fields.size()));
      continue;
    }
    const std::string code = Trimmed(record.fields[columns["CODE"]]);
    if (!InScope(commissioner, Trimmed(record.fields[columns["CCG_CODE"]]))) {
      report.set_rows_skipped(report.rows_skipped() + 1);
      continue;
    }
    if (!IsPracticeCode(code)) {
      rejects.Reject(record.line, "CODE is not a practice code", code);
      continue;
    }
    int64_t patients = 0;
    if (!absl::SimpleAtoi(Trimmed(record.fields[columns["NUMBER_OF_PATIENTS"]]), &patients) ||
        patients < 0 || patients > kMaxListSize) {
      rejects.Reject(record.line, "NUMBER_OF_PATIENTS is not a number 0-1000000", code);
      continue;
    }
    std::optional<std::string> date =
        DayMonthYearToIso(Trimmed(record.fields[columns["EXTRACT_DATE"]]));
    if (!date) {
      rejects.Reject(record.line, "EXTRACT_DATE is not a date (DDMONYYYY)", code);
      continue;
    }
    auto [it, inserted] = first_line.emplace(code, record.line);
    if (!inserted) {
      rejects.Reject(record.line, absl::StrCat("duplicate code (first at line ", it->second, ")"),
                     code);
      continue;
    }
    rows.push_back({record.line, code, patients, *date});
  }
  return rows;
}

absl::Status ApplyListSizes(WriteTx& tx, const std::vector<ListSizeRow>& rows,
                            v1::ImportReport& report, Report& rejects) {
  static const std::vector<std::string> kFields = {"list_size", "list_size_date"};
  for (const ListSizeRow& row : rows) {
    ASSIGN_OR_RETURN(std::optional<v1::Practice> existing, tx.LoadPractice(row.code));
    if (!existing.has_value()) {
      rejects.Reject(row.line, "no such practice in the registry (import epraccur first)",
                     row.code);
      continue;
    }
    report.set_list_size_practices(report.list_size_practices() + 1);
    report.set_list_size_patients(report.list_size_patients() + row.patients);
    v1::Practice updated = *existing;
    updated.set_list_size(row.patients);
    updated.set_list_size_date(row.date);
    std::vector<std::string> changed = DiffFields(*existing, updated, kFields);
    if (changed.empty()) {
      report.set_unchanged(report.unchanged() + 1);
      continue;
    }
    RETURN_IF_ERROR(
        tx.SavePractice(updated, &*existing, v1::Change::PRACTICE_UPDATED, std::move(changed)));
    report.set_changed(report.changed() + 1);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<int, LocalityFileRow>>> ParseLocalities(
    const std::vector<CsvRecord>& records, v1::ImportReport& report, Report& rejects) {
  if (records.empty()) return runtime::InvalidArgument("data", "the file has no header row");
  ASSIGN_OR_RETURN(auto columns, HeaderColumns(records[0].fields, {"locality_id", "locality_name",
                                                                   "cluster_id", "cluster_name"}));
  std::vector<std::pair<int, LocalityFileRow>> rows;
  std::map<std::string, int> first_line;
  std::map<std::string, std::string> cluster_names;
  for (size_t i = 1; i < records.size(); ++i) {
    const CsvRecord& record = records[i];
    report.set_rows_read(report.rows_read() + 1);
    if (record.fields.size() != records[0].fields.size()) {
      rejects.Reject(record.line, absl::StrCat("expected ", records[0].fields.size(),
                                               " fields, found ", record.fields.size()));
      continue;
    }
    LocalityFileRow row;
    row.locality.id = Trimmed(record.fields[columns["locality_id"]]);
    row.locality.display_name = Trimmed(record.fields[columns["locality_name"]]);
    row.cluster.id = Trimmed(record.fields[columns["cluster_id"]]);
    row.cluster.display_name = Trimmed(record.fields[columns["cluster_name"]]);
    row.locality.cluster_id = row.cluster.id;
    if (!IsSlug(row.locality.id) || !IsSlug(row.cluster.id)) {
      rejects.Reject(record.line, "ids must be lower-case letters, digits and '-'");
      continue;
    }
    if (!IsGoodName(row.locality.display_name) || !IsGoodName(row.cluster.display_name)) {
      rejects.Reject(record.line, "names must be 1-100 printable characters");
      continue;
    }
    auto [name_it, new_cluster] = cluster_names.emplace(row.cluster.id, row.cluster.display_name);
    if (!new_cluster && name_it->second != row.cluster.display_name) {
      rejects.Reject(record.line, "cluster name differs from an earlier row of the same cluster");
      continue;
    }
    auto [it, inserted] = first_line.emplace(row.locality.id, record.line);
    if (!inserted) {
      rejects.Reject(record.line,
                     absl::StrCat("duplicate locality (first at line ", it->second, ")"));
      continue;
    }
    rows.emplace_back(record.line, std::move(row));
  }
  return rows;
}

absl::Status ApplyLocalities(WriteTx& tx, const std::vector<std::pair<int, LocalityFileRow>>& rows,
                             v1::ImportReport& report) {
  std::set<std::string> clusters_done;
  for (const auto& [line, row] : rows) {
    if (clusters_done.insert(row.cluster.id).second) {
      ASSIGN_OR_RETURN(std::optional<ClusterRow> cluster, tx.LoadCluster(row.cluster.id));
      if (!cluster || cluster->display_name != row.cluster.display_name) {
        RETURN_IF_ERROR(tx.SaveCluster(row.cluster, !cluster.has_value()));
      }
    }
    ASSIGN_OR_RETURN(std::optional<LocalityRow> existing, tx.LoadLocality(row.locality.id));
    if (!existing) {
      RETURN_IF_ERROR(tx.SaveLocality(row.locality, true));
      report.set_added(report.added() + 1);
    } else if (existing->display_name != row.locality.display_name ||
               existing->cluster_id != row.locality.cluster_id) {
      RETURN_IF_ERROR(tx.SaveLocality(row.locality, false));
      report.set_changed(report.changed() + 1);
    } else {
      report.set_unchanged(report.unchanged() + 1);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AssignmentRow>> ParseAssignments(const std::vector<CsvRecord>& records,
                                                            v1::ImportReport& report,
                                                            Report& rejects) {
  if (records.empty()) return runtime::InvalidArgument("data", "the file has no header row");
  ASSIGN_OR_RETURN(auto columns, HeaderColumns(records[0].fields, {"ods_code", "locality_id"}));
  std::vector<AssignmentRow> rows;
  std::map<std::string, int> first_line;
  for (size_t i = 1; i < records.size(); ++i) {
    const CsvRecord& record = records[i];
    report.set_rows_read(report.rows_read() + 1);
    if (record.fields.size() != records[0].fields.size()) {
      rejects.Reject(record.line, absl::StrCat("expected ", records[0].fields.size(),
                                               " fields, found ", record.fields.size()));
      continue;
    }
    AssignmentRow row{record.line, Trimmed(record.fields[columns["ods_code"]]),
                      Trimmed(record.fields[columns["locality_id"]])};
    if (!IsPracticeCode(row.code)) {
      rejects.Reject(record.line, "ods_code is not a practice code", row.code);
      continue;
    }
    if (!IsSlug(row.locality_id)) {
      rejects.Reject(record.line, "locality_id is not a locality id", row.code);
      continue;
    }
    auto [it, inserted] = first_line.emplace(row.code, record.line);
    if (!inserted) {
      rejects.Reject(record.line, absl::StrCat("duplicate code (first at line ", it->second, ")"),
                     row.code);
      continue;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

absl::Status ApplyAssignments(WriteTx& tx, const std::vector<AssignmentRow>& rows,
                              v1::ImportReport& report, Report& rejects) {
  for (const AssignmentRow& row : rows) {
    ASSIGN_OR_RETURN(std::optional<LocalityRow> locality, tx.LoadLocality(row.locality_id));
    if (!locality) {
      rejects.Reject(row.line, "no such locality (import the localities file first)", row.code);
      continue;
    }
    ASSIGN_OR_RETURN(std::optional<std::string> previous,
                     tx.SetAssignment(row.code, row.locality_id));
    bool changed = previous != row.locality_id;
    ASSIGN_OR_RETURN(std::optional<v1::Practice> practice, tx.LoadPractice(row.code));
    const std::string locality_name = absl::StrCat("localities/", row.locality_id);
    if (practice && practice->locality() != locality_name) {
      v1::Practice updated = *practice;
      updated.set_locality(locality_name);
      RETURN_IF_ERROR(
          tx.SavePractice(updated, &*practice, v1::Change::PRACTICE_UPDATED, {"locality"}));
      changed = true;
    }
    if (!previous.has_value()) {
      report.set_added(report.added() + 1);
    } else if (changed) {
      report.set_changed(report.changed() + 1);
    } else {
      report.set_unchanged(report.unchanged() + 1);
    }
  }
  return absl::OkStatus();
}

std::string SourceFor(v1::ImportKind kind) {
  switch (kind) {
    case v1::EPRACCUR:
      return "import:epraccur";
    case v1::LIST_SIZES:
      return "import:list-sizes";
    case v1::LOCALITIES:
      return "import:localities";
    case v1::PRACTICE_LOCALITIES:
      return "import:practice-localities";
    default:
      return "import";
  }
}

}  // namespace

absl::StatusOr<ImportOutcome> RunImport(Store& store, const v1::ImportOptions& options,
                                        std::string_view content, const std::string& actor) {
  if (options.kind() == v1::IMPORT_KIND_UNSPECIFIED || !v1::ImportKind_IsValid(options.kind())) {
    return runtime::InvalidArgument("options.kind",
                                    "must be EPRACCUR, LIST_SIZES, LOCALITIES or "
                                    "PRACTICE_LOCALITIES");
  }
  std::string commissioner =
      options.commissioner().empty() ? std::string(kDorsetCommissioner) : options.commissioner();
  if (commissioner != kAllCommissioners && !IsOrganisationCode(commissioner)) {
    return runtime::InvalidArgument("options.commissioner",
                                    "must be an ODS commissioner code such as 11J, or \"all\"");
  }
  if (options.source_name().size() > 200) {
    return runtime::InvalidArgument("options.source_name", "longer than 200 characters");
  }
  if (absl::StripAsciiWhitespace(ToAbsl(content)).empty()) {
    return runtime::InvalidArgument("data", "the file is empty");
  }
  if (options.request_id().size() > 128) {
    return runtime::InvalidArgument("options.request_id", "longer than 128 characters");
  }

  ImportOutcome outcome;
  v1::ImportReport& report = outcome.report;
  report.set_kind(options.kind());
  report.set_commissioner(commissioner);
  report.set_validate_only(options.validate_only());
  Report rejects(report);

  // Parse everything before taking the write lock.
  const std::vector<CsvRecord> records = ReadAll(content, rejects);
  std::vector<v1::Practice> practices;
  std::vector<ListSizeRow> list_sizes;
  std::vector<std::pair<int, LocalityFileRow>> localities;
  std::vector<AssignmentRow> assignments;
  switch (options.kind()) {
    case v1::EPRACCUR:
      RETURN_IF_ERROR(ImportEpraccur(records, commissioner, report, rejects, practices));
      break;
    case v1::LIST_SIZES: {
      ASSIGN_OR_RETURN(list_sizes, ParseListSizes(records, commissioner, report, rejects));
      break;
    }
    case v1::LOCALITIES: {
      ASSIGN_OR_RETURN(localities, ParseLocalities(records, report, rejects));
      break;
    }
    case v1::PRACTICE_LOCALITIES: {
      ASSIGN_OR_RETURN(assignments, ParseAssignments(records, report, rejects));
      break;
    }
    default:
      break;
  }

  const std::string method = "ImportFile";
  bool repeated = false;
  const v1::ImportReport parsed_report = report;
  absl::StatusOr<std::vector<CommittedChange>> committed =
      store.Write(SourceFor(options.kind()), actor, [&](WriteTx& tx) -> absl::Status {
        report = parsed_report;  // Write() may not retry, but keep the callback re-runnable
        if (!options.request_id().empty() && !options.validate_only()) {
          ASSIGN_OR_RETURN(std::optional<std::string> stored,
                           tx.FindRequest(options.request_id(), method));
          if (stored.has_value()) {
            if (!report.ParseFromString(*stored)) return runtime::Internal("stored report");
            repeated = true;
            return absl::OkStatus();
          }
        }
        switch (options.kind()) {
          case v1::EPRACCUR:
            RETURN_IF_ERROR(ApplyEpraccur(tx, practices, report));
            break;
          case v1::LIST_SIZES:
            RETURN_IF_ERROR(ApplyListSizes(tx, list_sizes, report, rejects));
            break;
          case v1::LOCALITIES:
            RETURN_IF_ERROR(ApplyLocalities(tx, localities, report));
            break;
          case v1::PRACTICE_LOCALITIES:
            RETURN_IF_ERROR(ApplyAssignments(tx, assignments, report, rejects));
            break;
          default:
            break;
        }
        if (options.kind() == v1::EPRACCUR || options.kind() == v1::LIST_SIZES) {
          ASSIGN_OR_RETURN(auto mismatches,
                           tx.Mismatches(commissioner == kAllCommissioners ? "" : commissioner));
          for (auto& m : mismatches) *report.add_mismatches() = std::move(m);
        }
        if (!tx.changes().empty()) {
          report.set_first_sequence(tx.changes().front().sequence);
          report.set_last_sequence(tx.changes().back().sequence);
        }
        if (options.validate_only()) return ValidateOnlyRollback();
        if (!options.request_id().empty()) {
          RETURN_IF_ERROR(tx.SaveRequest(options.request_id(), method, report.SerializeAsString()));
        }
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

}  // namespace dorset::registry
