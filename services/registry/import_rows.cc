#include "services/registry/import_rows.h"

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/enum_names.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/registry/closure_policy.h"
#include "services/registry/importer.h"
#include "services/registry/practice_fields.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace {

constexpr int kEpraccurFields = 27;
constexpr int64_t kMaxListSize = 1'000'000;
constexpr int kMaxRejectionsListed = 1000;
// Free-text ODS fields (sub-type, provider/purchaser) are short codes; anything longer is
// not what ODS publishes.
constexpr size_t kMaxCodeText = 20;

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

bool InScope(const std::string& commissioner, const std::string& row_commissioner) {
  return commissioner == kAllCommissioners || row_commissioner == commissioner;
}

std::string Trimmed(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

// Remembers the first line of `key` in this import; returns the reason for a repeat.
absl::StatusOr<std::optional<std::string>> Duplicate(WriteTx& tx, const std::string& key, int line,
                                                     std::string_view what) {
  ASSIGN_OR_RETURN(std::optional<WriteTx::Seen> seen, tx.SeeOnce(key, line, ""));
  if (!seen) return std::nullopt;
  return absl::StrCat("duplicate ", std::string(what), " (first at line ", seen->line, ")");
}

// ---- epraccur ----

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
    if (CodePointCount(line) > static_cast<size_t>(kMaxAddressLineLength)) {
      return "address line too long";
    }
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
    p.set_status(v1::Practice::STATUS_ACTIVE);
  } else if (status == "C") {
    p.set_status(v1::Practice::STATUS_CLOSED);
  } else if (status == "D") {
    p.set_status(v1::Practice::STATUS_DORMANT);
  } else if (status == "P") {
    p.set_status(v1::Practice::STATUS_PROPOSED);
  } else {
    return "status is not A, C, D or P";
  }
  const std::string sub_type = Trimmed(f[kSubType]);
  if (CodePointCount(sub_type) > kMaxCodeText) return "organisation sub-type too long";
  p.set_organisation_sub_type(sub_type);
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
  const std::string provider = Trimmed(f[kProvider]);
  if (CodePointCount(provider) > kMaxCodeText) return "provider/purchaser too long";
  p.set_provider_purchaser(provider);
  int setting = 0;
  if (!absl::SimpleAtoi(Trimmed(f[kSetting]), &setting) || setting < 0 || setting > 99) {
    return "prescribing setting is not a number 0-99";
  }
  p.set_prescribing_setting(setting);
  return std::nullopt;
}

class EpraccurRows final : public RowImporter {
 public:
  EpraccurRows(WriteTx& tx, const std::string& commissioner, ImportCounts& counts,
               bool override_local_closures)
      : tx_(tx),
        commissioner_(commissioner),
        counts_(counts),
        override_local_closures_(override_local_closures) {}

  bool has_header() const override { return false; }

  std::string FieldName(size_t index) const override {
    static constexpr const char* kNames[kEpraccurFields] = {"organisation code",
                                                            "name",
                                                            "national grouping",
                                                            "health geography",
                                                            "address line 1",
                                                            "address line 2",
                                                            "address line 3",
                                                            "address line 4",
                                                            "address line 5",
                                                            "postcode",
                                                            "open date",
                                                            "close date",
                                                            "status",
                                                            "organisation sub-type",
                                                            "commissioner",
                                                            "join provider date",
                                                            "left provider date",
                                                            "telephone",
                                                            "field 19",
                                                            "field 20",
                                                            "field 21",
                                                            "amended record indicator",
                                                            "field 23",
                                                            "provider/purchaser",
                                                            "field 25",
                                                            "prescribing setting",
                                                            "field 27"};
    return index < kEpraccurFields ? kNames[index] : absl::StrCat("field ", index + 1);
  }

  // A good row is held back and applied with its batch (Flush): a few statements per batch of
  // up to WriteTx::kBatchRows rows instead of six per row. The memory held is the batch's.
  absl::Status Row(const CsvRecord& record) override {
    const auto& f = record.fields;
    if (static_cast<int>(f.size()) != kEpraccurFields) {
      RETURN_IF_ERROR(Flush());
      counts_.Reject(record.line,
                     absl::StrCat("expected ", kEpraccurFields, " fields, found ", f.size()),
                     f.empty() ? "" : Trimmed(f[0]));
      return absl::OkStatus();
    }
    if (!InScope(commissioner_, Trimmed(f[kCommissioner]))) {
      counts_.Skip();
      return absl::OkStatus();
    }
    Pending& row = pending_.emplace_back();
    row.line = record.line;
    if (std::optional<std::string> why = ParseEpraccurRow(f, row.practice)) {
      pending_.pop_back();
      RETURN_IF_ERROR(Flush());
      counts_.Reject(record.line, *why, Trimmed(f[kCode]));
      return absl::OkStatus();
    }
    if (pending_.size() >= WriteTx::kBatchRows) return Flush();
    return absl::OkStatus();
  }

  // The held rows in file order, exactly as one at a time: a code seen before (in this batch
  // or an earlier one) is a duplicate of its first line; then added, changed or unchanged.
  absl::Status Flush() override {
    if (pending_.empty()) return absl::OkStatus();
    std::vector<std::pair<std::string, int>> keys;  // distinct codes: key, first line
    absl::flat_hash_map<std::string, size_t> key_of;
    keys.reserve(pending_.size());
    for (const Pending& row : pending_) {
      if (key_of.try_emplace(row.practice.ods_code(), keys.size()).second) {
        keys.emplace_back("code:" + row.practice.ods_code(), row.line);
      }
    }
    ASSIGN_OR_RETURN(std::vector<std::optional<WriteTx::Seen>> seen, tx_.SeeEachOnce(keys));
    std::vector<std::string> codes;  // not seen in an earlier batch
    for (const auto& [code, k] : key_of) {
      if (!seen[k]) codes.push_back(code);
    }
    absl::flat_hash_map<std::string, v1::Practice> existing;
    RETURN_IF_ERROR(tx_.LoadPractices(codes, existing));
    std::vector<std::string> new_codes;
    for (std::string& code : codes) {
      if (!existing.contains(code)) new_codes.push_back(std::move(code));
    }
    absl::flat_hash_map<std::string, std::string> localities;
    RETURN_IF_ERROR(tx_.AssignedLocalities(new_codes, localities));

    std::vector<WriteTx::PracticeSave> saves;
    saves.reserve(pending_.size());
    for (Pending& row : pending_) {
      v1::Practice& parsed = row.practice;
      const size_t k = key_of.at(parsed.ods_code());
      const int first_line = seen[k] ? seen[k]->line : keys[k].second;
      if (first_line != row.line) {
        counts_.Reject(row.line, absl::StrCat("duplicate code (first at line ", first_line, ")"),
                       parsed.ods_code());
        continue;
      }
      auto stored = existing.find(parsed.ods_code());
      if (stored == existing.end()) {
        if (auto locality = localities.find(parsed.ods_code()); locality != localities.end()) {
          parsed.set_locality(absl::StrCat("localities/", locality->second));
        }
        saves.push_back({std::move(parsed), nullptr, v1::Change::KIND_PRACTICE_CREATED, {}});
        counts_.Add();
        continue;
      }
      const v1::Practice& before = stored->second;
      v1::Practice updated = before;
      CopyFields(parsed, updated, OdsFields());
      ReconcileClosure(before, updated, override_local_closures_, row.line, counts_.report());
      std::vector<std::string> changed = DiffFields(before, updated, EpraccurWrittenFields());
      if (changed.empty()) {
        counts_.Keep();
        continue;
      }
      const v1::Change::Kind kind = UpdateKind(before, updated);
      saves.push_back({std::move(updated), &before, kind, std::move(changed)});
      counts_.Change();
    }
    pending_.clear();
    return tx_.SavePractices(saves);
  }

 private:
  struct Pending {
    int line = 0;
    v1::Practice practice;  // parsed
  };

  WriteTx& tx_;
  const std::string commissioner_;
  ImportCounts& counts_;
  const bool override_local_closures_;
  std::vector<Pending> pending_;  // at most WriteTx::kBatchRows
};

// ---- header-driven CSVs ----

class HeaderRows : public RowImporter {
 public:
  HeaderRows(WriteTx& tx, ImportCounts& counts, std::vector<std::string> needed)
      : tx_(tx), counts_(counts), needed_(std::move(needed)) {}

  absl::Status Header(const CsvRecord& header) override {
    std::map<std::string, int> found;
    for (size_t i = 0; i < header.fields.size(); ++i) {
      found.emplace(absl::AsciiStrToUpper(Trimmed(header.fields[i])), static_cast<int>(i));
      names_.push_back(ForReply(Trimmed(header.fields[i]), 40));
    }
    for (const std::string& name : needed_) {
      auto it = found.find(absl::AsciiStrToUpper(name));
      if (it == found.end()) {
        std::string message = absl::StrCat("the header has no ", name, " column");
        const v1::ImportKind guess = GuessKind(header);
        if (guess != v1::IMPORT_KIND_UNSPECIFIED) {
          absl::StrAppend(&message, " (the file looks like ", runtime::EnumShortName(guess), ")");
        }
        return runtime::InvalidArgument("data", message);
      }
      columns_[name] = it->second;
    }
    width_ = header.fields.size();
    return absl::OkStatus();
  }

  std::string FieldName(size_t index) const override {
    return index < names_.size() ? names_[index] : absl::StrCat("field ", index + 1);
  }

 protected:
  // False (and the record rejected) when the record's width differs from the header's.
  bool RightWidth(const CsvRecord& record) {
    if (record.fields.size() == width_) return true;
    counts_.Reject(record.line,
                   absl::StrCat("expected ", width_, " fields, found ", record.fields.size()));
    return false;
  }
  std::string Get(const CsvRecord& record, const std::string& column) {
    return Trimmed(record.fields[columns_.at(column)]);
  }

  WriteTx& tx_;
  ImportCounts& counts_;

 private:
  const std::vector<std::string> needed_;
  std::map<std::string, int> columns_;
  std::vector<std::string> names_;
  size_t width_ = 0;
};

class ListSizeRows final : public HeaderRows {
 public:
  ListSizeRows(WriteTx& tx, const std::string& commissioner, ImportCounts& counts)
      : HeaderRows(tx, counts, {"CODE", "NUMBER_OF_PATIENTS", "EXTRACT_DATE", "CCG_CODE"}),
        commissioner_(commissioner) {}

  absl::Status Row(const CsvRecord& record) override {
    if (!RightWidth(record)) return absl::OkStatus();
    const std::string code = Get(record, "CODE");
    if (!InScope(commissioner_, Get(record, "CCG_CODE"))) {
      counts_.Skip();
      return absl::OkStatus();
    }
    if (!IsPracticeCode(code)) {
      counts_.Reject(record.line, "CODE is not a practice code", code);
      return absl::OkStatus();
    }
    int64_t patients = 0;
    if (!absl::SimpleAtoi(Get(record, "NUMBER_OF_PATIENTS"), &patients) || patients < 0 ||
        patients > kMaxListSize) {
      counts_.Reject(record.line, "NUMBER_OF_PATIENTS is not a number 0-1000000", code);
      return absl::OkStatus();
    }
    std::optional<std::string> date = DayMonthYearToIso(Get(record, "EXTRACT_DATE"));
    if (!date) {
      counts_.Reject(record.line, "EXTRACT_DATE is not a date (DDMONYYYY)", code);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<std::string> duplicate,
                     Duplicate(tx_, "code:" + code, record.line, "code"));
    if (duplicate) {
      counts_.Reject(record.line, *duplicate, code);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<v1::Practice> existing, tx_.LoadPractice(code));
    if (!existing.has_value()) {
      counts_.Reject(record.line, "no such practice in the registry (import epraccur first)", code);
      return absl::OkStatus();
    }
    v1::ImportReport& report = counts_.report();
    report.set_list_size_practices(report.list_size_practices() + 1);
    report.set_list_size_patients(report.list_size_patients() + patients);
    static const std::vector<std::string> kFields = {"list_size", "list_size_date"};
    v1::Practice updated = *existing;
    updated.set_list_size(patients);
    updated.set_list_size_date(*date);
    std::vector<std::string> changed = DiffFields(*existing, updated, kFields);
    if (changed.empty()) {
      counts_.Keep();
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(tx_.SavePractice(updated, &*existing, v1::Change::KIND_PRACTICE_UPDATED,
                                     std::move(changed)));
    counts_.Change();
    return absl::OkStatus();
  }

 private:
  const std::string commissioner_;
};

class LocalityRows final : public HeaderRows {
 public:
  LocalityRows(WriteTx& tx, ImportCounts& counts)
      : HeaderRows(tx, counts, {"locality_id", "locality_name", "cluster_id", "cluster_name"}) {}

  absl::Status Row(const CsvRecord& record) override {
    if (!RightWidth(record)) return absl::OkStatus();
    LocalityRow locality{Get(record, "locality_id"), Get(record, "locality_name"),
                         Get(record, "cluster_id")};
    ClusterRow cluster{locality.cluster_id, Get(record, "cluster_name")};
    if (!IsSlug(locality.id) || !IsSlug(cluster.id)) {
      counts_.Reject(record.line, "ids must be lower-case letters, digits and '-'");
      return absl::OkStatus();
    }
    if (!IsGoodName(locality.display_name) || !IsGoodName(cluster.display_name)) {
      counts_.Reject(record.line, "names must be 1-100 printable characters");
      return absl::OkStatus();
    }
    // The first row of a cluster names it; a later row naming it differently is rejected.
    ASSIGN_OR_RETURN(std::optional<WriteTx::Seen> named,
                     tx_.SeeOnce("cluster:" + cluster.id, record.line, cluster.display_name));
    if (named && named->value != cluster.display_name) {
      counts_.Reject(record.line, "cluster name differs from an earlier row of the same cluster");
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<std::string> duplicate,
                     Duplicate(tx_, "locality:" + locality.id, record.line, "locality"));
    if (duplicate) {
      counts_.Reject(record.line, *duplicate);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<ClusterRow> stored_cluster, tx_.LoadCluster(cluster.id));
    if (!stored_cluster || stored_cluster->display_name != cluster.display_name) {
      RETURN_IF_ERROR(tx_.SaveCluster(cluster, !stored_cluster.has_value()));
    }
    ASSIGN_OR_RETURN(std::optional<LocalityRow> existing, tx_.LoadLocality(locality.id));
    if (!existing) {
      RETURN_IF_ERROR(tx_.SaveLocality(locality, true));
      counts_.Add();
    } else if (existing->display_name != locality.display_name ||
               existing->cluster_id != locality.cluster_id) {
      RETURN_IF_ERROR(tx_.SaveLocality(locality, false));
      counts_.Change();
    } else {
      counts_.Keep();
    }
    return absl::OkStatus();
  }
};

class AssignmentRows final : public HeaderRows {
 public:
  AssignmentRows(WriteTx& tx, ImportCounts& counts)
      : HeaderRows(tx, counts, {"ods_code", "locality_id"}) {}

  absl::Status Row(const CsvRecord& record) override {
    if (!RightWidth(record)) return absl::OkStatus();
    const std::string code = Get(record, "ods_code");
    const std::string locality_id = Get(record, "locality_id");
    if (!IsPracticeCode(code)) {
      counts_.Reject(record.line, "ods_code is not a practice code", code);
      return absl::OkStatus();
    }
    if (!IsSlug(locality_id)) {
      counts_.Reject(record.line, "locality_id is not a locality id", code);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<std::string> duplicate,
                     Duplicate(tx_, "code:" + code, record.line, "code"));
    if (duplicate) {
      counts_.Reject(record.line, *duplicate, code);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<LocalityRow> locality, tx_.LoadLocality(locality_id));
    if (!locality) {
      counts_.Reject(record.line, "no such locality (import the localities file first)", code);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<std::string> previous, tx_.SetAssignment(code, locality_id));
    bool changed = previous != locality_id;
    ASSIGN_OR_RETURN(std::optional<v1::Practice> practice, tx_.LoadPractice(code));
    const std::string locality_name = absl::StrCat("localities/", locality_id);
    if (practice && practice->locality() != locality_name) {
      v1::Practice updated = *practice;
      updated.set_locality(locality_name);
      RETURN_IF_ERROR(
          tx_.SavePractice(updated, &*practice, v1::Change::KIND_PRACTICE_UPDATED, {"locality"}));
      changed = true;
    }
    if (!previous.has_value()) {
      counts_.Add();
    } else if (changed) {
      counts_.Change();
    } else {
      counts_.Keep();
    }
    return absl::OkStatus();
  }
};

bool HasColumn(const CsvRecord& header, std::string_view name) {
  for (const std::string& f : header.fields) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(f), ToAbsl(name))) return true;
  }
  return false;
}

}  // namespace

void ImportCounts::Reject(int line, std::string_view reason, std::string_view code) {
  report_.set_rejected(report_.rejected() + 1);
  if (report_.rejections_size() >= kMaxRejectionsListed) return;
  auto* r = report_.add_rejections();
  r->set_line(line);
  r->set_reason(ForReply(reason, 200));
  r->set_ods_code(ForReply(code, 16));
}

std::unique_ptr<RowImporter> MakeRowImporter(v1::ImportKind kind, WriteTx& tx,
                                             const std::string& commissioner, ImportCounts& counts,
                                             bool override_local_closures) {
  switch (kind) {
    case v1::IMPORT_KIND_EPRACCUR:
      return std::make_unique<EpraccurRows>(tx, commissioner, counts, override_local_closures);
    case v1::IMPORT_KIND_LIST_SIZES:
      return std::make_unique<ListSizeRows>(tx, commissioner, counts);
    case v1::IMPORT_KIND_LOCALITIES:
      return std::make_unique<LocalityRows>(tx, counts);
    case v1::IMPORT_KIND_PRACTICE_LOCALITIES:
      return std::make_unique<AssignmentRows>(tx, counts);
    default:
      return nullptr;
  }
}

v1::ImportKind GuessKind(const CsvRecord& first) {
  if (first.fields.size() == kEpraccurFields && IsPracticeCode(Trimmed(first.fields[0]))) {
    return v1::IMPORT_KIND_EPRACCUR;
  }
  if (HasColumn(first, "CODE") && HasColumn(first, "NUMBER_OF_PATIENTS"))
    return v1::IMPORT_KIND_LIST_SIZES;
  if (HasColumn(first, "locality_id") && HasColumn(first, "locality_name"))
    return v1::IMPORT_KIND_LOCALITIES;
  if (HasColumn(first, "ods_code") && HasColumn(first, "locality_id")) {
    return v1::IMPORT_KIND_PRACTICE_LOCALITIES;
  }
  return v1::IMPORT_KIND_UNSPECIFIED;
}

}  // namespace dorset::registry
