#include "services/registry/domain/practice_rules.h"

#include <cctype>
#include <optional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/etag.h"
#include "services/registry/practice_fields.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {

using runtime::FieldViolation;

absl::StatusOr<std::string> PracticeCode(const std::string& name, std::string_view field) {
  std::optional<std::string> code = IdFromName(name, "practices");
  if (!code || !IsPracticeCode(*code)) {
    return runtime::InvalidArgument(field, "must be practices/{ods_code}, e.g. practices/J81016");
  }
  return *code;
}

absl::StatusOr<std::string> SlugFrom(const std::string& name, std::string_view collection,
                                     std::string_view field) {
  std::optional<std::string> id = IdFromName(name, collection);
  if (!id || !IsSlug(*id)) {
    return runtime::InvalidArgument(
        field, absl::StrCat("must be ", std::string(collection), "/{id} with a lower-case id"));
  }
  return *id;
}

// Checks the value of one updatable/creatable field; appends violations.
void CheckField(const v1::Practice& p, const std::string& field,
                std::vector<FieldViolation>& violations) {
  const std::string path = absl::StrCat("practice.", field);
  if (field == "display_name") {
    if (auto problem = TextProblem(p.display_name(), kMaxNameLength)) {
      violations.push_back({path, *problem});
    } else if (!IsGoodName(p.display_name())) {
      violations.push_back({path, "must be 1-100 printable characters"});
    }
  } else if (field == "address_lines") {
    if (p.address_lines_size() > kMaxAddressLines) {
      violations.push_back({path, "at most 5 lines"});
    }
    for (int i = 0; i < p.address_lines_size(); ++i) {
      if (auto problem = TextProblem(p.address_lines(i), kMaxAddressLineLength)) {
        violations.push_back({absl::StrCat(path, "[", i, "]"), *problem});
      }
    }
  } else if (field == "organisation_sub_type" || field == "provider_purchaser") {
    const std::string& value =
        field == "organisation_sub_type" ? p.organisation_sub_type() : p.provider_purchaser();
    if (auto problem = TextProblem(value, 20)) violations.push_back({path, *problem});
  } else if (field == "join_provider_date" || field == "left_provider_date") {
    const std::string& value =
        field == "join_provider_date" ? p.join_provider_date() : p.left_provider_date();
    if (!value.empty() && !IsIsoDate(value))
      violations.push_back({path, "not a date (YYYY-MM-DD)"});
  } else if (field == "postcode") {
    if (!NormalizePostcode(p.postcode())) violations.push_back({path, "not a UK postcode"});
  } else if (field == "telephone") {
    if (!IsTelephone(p.telephone())) violations.push_back({path, "not a telephone number"});
  } else if (field == "prescribing_setting") {
    if (p.prescribing_setting() < 0 || p.prescribing_setting() > 99) {
      violations.push_back({path, "must be 0-99"});
    }
  } else if (field == "locality") {
    if (!p.locality().empty()) {
      std::optional<std::string> id = IdFromName(p.locality(), "localities");
      if (!id || !IsSlug(*id)) violations.push_back({path, "must be localities/{id}"});
    }
  } else if (field == "list_size") {
    if (p.has_list_size() && (p.list_size() < 0 || p.list_size() > kMaxListSize)) {
      violations.push_back({path, "must be 0-1000000"});
    }
  } else if (field == "list_size_date") {
    if (!p.list_size_date().empty() && !IsIsoDate(p.list_size_date())) {
      violations.push_back({path, "not a date (YYYY-MM-DD)"});
    }
  } else if (field == "status") {
    if (p.status() == v1::Practice::STATUS_UNSPECIFIED ||
        !v1::Practice::Status_IsValid(p.status())) {
      violations.push_back({path, "must be ACTIVE, CLOSED, DORMANT or PROPOSED"});
    }
  } else if (field == "icb" || field == "region" || field == "commissioner") {
    const std::string& value = field == "icb"      ? p.icb()
                               : field == "region" ? p.region()
                                                   : p.commissioner();
    if (!value.empty() && !IsOrganisationCode(value)) {
      violations.push_back({path, "not an ODS organisation code"});
    }
  } else if (field == "open_date" || field == "close_date") {
    const std::string& value = field == "open_date" ? p.open_date() : p.close_date();
    if ((field == "open_date" || !value.empty()) && !IsIsoDate(value)) {
      violations.push_back({path, "not a date (YYYY-MM-DD)"});
    }
  }
}

// Normalises the fields a caller may send (postcode spelling) after validation.
void Normalize(v1::Practice& p) {
  if (std::optional<std::string> postcode = NormalizePostcode(p.postcode())) {
    p.set_postcode(*postcode);
  }
}

absl::Status CheckListSizePair(const v1::Practice& p) {
  if (p.has_list_size() != !p.list_size_date().empty()) {
    return runtime::InvalidArgument("practice.list_size_date",
                                    "list_size and list_size_date go together");
  }
  return absl::OkStatus();
}

absl::Status CheckEtag(const v1::Practice& stored, const std::string& etag,
                       std::string_view field) {
  ASSIGN_OR_RETURN(int64_t revision, runtime::storage::ParseEtag(stored.etag()));
  return runtime::storage::CheckEtag(etag, revision, "Practice", stored.name(), field);
}

std::string EncodeCursor(const PracticeCursor& c) {
  return absl::StrCat(c.text, "\x1f", c.number, "\x1f", c.ods_code);
}

absl::StatusOr<PracticeCursor> DecodeCursor(const std::string& position) {
  std::vector<std::string> parts = absl::StrSplit(position, '\x1f');
  PracticeCursor c;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &c.number)) {
    return runtime::InvalidArgument("page_token", "not a token of this query");
  }
  c.text = parts[0];
  c.ods_code = parts[2];
  return c;
}

absl::StatusOr<PracticeQuery> BuildPracticeQuery(const v1::ListPracticesRequest& r) {
  PracticeQuery q;
  std::vector<FieldViolation> violations;
  if (!r.locality().empty()) {
    std::optional<std::string> id = IdFromName(r.locality(), "localities");
    if (!id || !IsSlug(*id)) {
      violations.push_back({"locality", "must be localities/{id}"});
    } else {
      q.locality_id = *id;
    }
  }
  if (!r.cluster().empty()) {
    std::optional<std::string> id = IdFromName(r.cluster(), "clusters");
    if (!id || !IsSlug(*id)) {
      violations.push_back({"cluster", "must be clusters/{id}"});
    } else {
      q.cluster_id = *id;
    }
  }
  std::set<int> statuses;
  for (int s : r.statuses()) {
    if (s == v1::Practice::STATUS_UNSPECIFIED || !v1::Practice::Status_IsValid(s)) {
      violations.push_back({"statuses", "must be ACTIVE, CLOSED, DORMANT or PROPOSED"});
      break;
    }
    statuses.insert(s);
  }
  q.statuses.assign(statuses.begin(), statuses.end());
  if (r.name_contains().size() > static_cast<size_t>(kMaxNameLength)) {
    violations.push_back({"name_contains", "longer than 100 characters"});
  }
  q.name_contains = r.name_contains();
  if (r.name_prefix().size() > static_cast<size_t>(kMaxNameLength)) {
    violations.push_back({"name_prefix", "longer than 100 characters"});
  }
  q.name_prefix = r.name_prefix();
  // Stored update times are whole microseconds; a bound between two is rounded up, which keeps
  // both "at or after" and "before" exact.
  auto bound = [&](const char* field, const google::protobuf::Timestamp& time,
                   std::optional<int64_t>& micros) {
    using google::protobuf::util::TimeUtil;
    if (time.seconds() < TimeUtil::kTimestampMinSeconds ||
        time.seconds() > TimeUtil::kTimestampMaxSeconds || time.nanos() < 0 ||
        time.nanos() > 999999999) {
      violations.push_back({field, "not a valid timestamp"});
    } else {
      micros = time.seconds() * 1000000 + (time.nanos() + 999) / 1000;
    }
  };
  if (r.has_update_time_since()) {
    bound("update_time_since", r.update_time_since(), q.update_micros_since);
  }
  if (r.has_update_time_before()) {
    bound("update_time_before", r.update_time_before(), q.update_micros_before);
  }
  if (!r.postcode_prefix().empty()) {
    q.postcode_prefix_key = PostcodeKey(r.postcode_prefix());
    bool ok = q.postcode_prefix_key.size() <= 7 && !q.postcode_prefix_key.empty();
    for (char c : q.postcode_prefix_key) ok = ok && std::isalnum(static_cast<unsigned char>(c));
    if (!ok) violations.push_back({"postcode_prefix", "must be the start of a UK postcode"});
  }
  if (r.has_prescribing_setting()) {
    if (r.prescribing_setting() < 0 || r.prescribing_setting() > 99) {
      violations.push_back({"prescribing_setting", "must be 0-99"});
    }
    q.prescribing_setting = r.prescribing_setting();
  }
  if (!r.commissioner().empty() && !IsOrganisationCode(r.commissioner())) {
    violations.push_back({"commissioner", "not an ODS organisation code"});
  }
  q.commissioner = r.commissioner();
  std::vector<std::string> order = absl::StrSplit(r.order_by(), ' ', absl::SkipEmpty());
  if (order.size() > 2 || (order.size() == 2 && order[1] != "desc" && order[1] != "asc")) {
    violations.push_back({"order_by", "must be a field optionally followed by \" desc\""});
  } else if (!order.empty()) {
    q.descending = order.size() == 2 && order[1] == "desc";
    const std::string& field = order[0];
    if (field == "ods_code") {
      q.order = PracticeQuery::Order::kOdsCode;
    } else if (field == "display_name") {
      q.order = PracticeQuery::Order::kDisplayName;
    } else if (field == "postcode") {
      q.order = PracticeQuery::Order::kPostcode;
    } else if (field == "update_time") {
      q.order = PracticeQuery::Order::kUpdateTime;
    } else if (field == "list_size") {
      q.order = PracticeQuery::Order::kListSize;
    } else {
      violations.push_back(
          {"order_by", "one of ods_code, display_name, postcode, update_time, list_size"});
    }
  }
  if (!violations.empty()) return runtime::InvalidArguments(std::move(violations));
  return q;
}

}  // namespace dorset::registry
