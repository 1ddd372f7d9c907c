// The header-driven CSV importers: practice list sizes, localities and practices' localities,
// each finding its columns by name in the header record.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/enum_names.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/registry/closure_policy.h"
#include "services/registry/import_row_kinds.h"
#include "services/registry/practice_fields.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry::import_rows_internal {
namespace {

constexpr int64_t kMaxListSize = 1'000'000;

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

}  // namespace

std::unique_ptr<RowImporter> MakeListSizeRows(WriteTx& tx, const std::string& commissioner,
                                              ImportCounts& counts) {
  return std::make_unique<ListSizeRows>(tx, commissioner, counts);
}

std::unique_ptr<RowImporter> MakeLocalityRows(WriteTx& tx, ImportCounts& counts) {
  return std::make_unique<LocalityRows>(tx, counts);
}

std::unique_ptr<RowImporter> MakeAssignmentRows(WriteTx& tx, ImportCounts& counts) {
  return std::make_unique<AssignmentRows>(tx, counts);
}

}  // namespace dorset::registry::import_rows_internal
