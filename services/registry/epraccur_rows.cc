// The epraccur importer: ODS's practice file as published (no header, 27 fields per record),
// each good row held back and applied with its batch of up to WriteTx::kBatchRows rows.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "services/registry/closure_policy.h"
#include "services/registry/import_row_kinds.h"
#include "services/registry/practice_fields.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry::import_rows_internal {
namespace {

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

}  // namespace

std::unique_ptr<RowImporter> MakeEpraccurRows(WriteTx& tx, const std::string& commissioner,
                                              ImportCounts& counts, bool override_local_closures) {
  return std::make_unique<EpraccurRows>(tx, commissioner, counts, override_local_closures);
}

}  // namespace dorset::registry::import_rows_internal
