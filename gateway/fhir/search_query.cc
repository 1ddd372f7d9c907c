// FHIR search parameters -> ListPracticesRequest (see search_query.h and docs/fhir.md).
#include "gateway/fhir/search_query.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "gateway/fhir/organization_map.h"
#include "google/protobuf/util/time_util.h"

namespace dorset::gateway::fhir {
namespace {

namespace v1 = registry::v1;

absl::Status Bad(absl::string_view parameter, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("search parameter '", parameter, "': ", why));
}

absl::Status Unsupported(absl::string_view parameter, absl::string_view why) {
  return absl::UnimplementedError(absl::StrCat("search parameter '", parameter, "': ", why));
}

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Reads exactly `n` digits at `*pos`.
bool Digits(absl::string_view text, size_t* pos, size_t n, int* value) {
  if (*pos + n > text.size() || !AllDigits(text.substr(*pos, n))) return false;
  *value = 0;
  for (size_t i = 0; i < n; ++i) *value = *value * 10 + (text[*pos + i] - '0');
  *pos += n;
  return true;
}

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(time));
}

// The type parameter: a role or a prescribing setting, "[system|]code".
absl::Status ApplyType(const std::string& value, SearchQuery& search) {
  if (value.find(',') != std::string::npos) {
    return Unsupported("type", "one value only (no comma-separated alternatives)");
  }
  std::string system;
  std::string code = value;
  if (const size_t bar = value.find('|'); bar != std::string::npos) {
    system = value.substr(0, bar);
    code = value.substr(bar + 1);
  }
  if (code.empty()) return Bad("type", "a code is required ([system|]code)");
  const bool role_system = system.empty() || system == kOdsRoleSystem;
  const bool setting_system = system.empty() || system == kPrescribingSettingSystem;
  if (role_system && absl::StartsWith(code, "RO")) {
    if (code == kRolePrescribingCostCentre) return absl::OkStatus();  // every practice
    if (code == kRoleGpPractice) {
      search.list.set_prescribing_setting(kGpPracticeSetting);
      return absl::OkStatus();
    }
    search.matches_nothing = true;  // a role no practice in the registry has
    return absl::OkStatus();
  }
  if (setting_system && AllDigits(code)) {
    int setting = 0;
    if (!absl::SimpleAtoi(code, &setting) || setting > 99) {
      return Bad("type", "a prescribing setting is 0-99");
    }
    search.list.set_prescribing_setting(setting);
    return absl::OkStatus();
  }
  if (system.empty() || system == kLocalTypeSystem || role_system || setting_system) {
    search.matches_nothing = true;  // e.g. type=locality: search returns practices only
    return absl::OkStatus();
  }
  return Unsupported("type", absl::StrCat("unknown code system '", system, "'"));
}

absl::Status ApplyPartOf(const std::string& value, SearchQuery& search) {
  absl::string_view id = value;
  if (absl::StartsWith(id, "Organization/")) id.remove_prefix(13);
  std::optional<OrganizationId> parsed = ParseOrganizationId(id);
  if (!parsed) return Bad("partof", "expected Organization/locality-{id}");
  if (parsed->kind != OrganizationId::Kind::kLocality) {
    return Unsupported("partof", "only localities (Organization/locality-{id}) are supported");
  }
  search.list.set_locality(absl::StrCat("localities/", parsed->key));
  return absl::OkStatus();
}

struct UpdateRange {
  std::optional<absl::Time> since;   // inclusive
  std::optional<absl::Time> before;  // exclusive
};

absl::Status ApplyLastUpdated(const std::string& value, UpdateRange& range) {
  std::string prefix = "eq";
  std::string date = value;
  if (value.size() > 2 && std::isalpha(static_cast<unsigned char>(value[0])) &&
      std::isalpha(static_cast<unsigned char>(value[1]))) {
    prefix = value.substr(0, 2);
    date = value.substr(2);
  }
  if (prefix != "eq" && prefix != "gt" && prefix != "ge" && prefix != "lt" && prefix != "le") {
    return Unsupported("_lastUpdated",
                       absl::StrCat("prefix '", prefix, "' is not supported (eq, gt, ge, lt, le)"));
  }
  std::optional<DateRange> parsed = ParseFhirDate(date);
  if (!parsed) {
    return Bad("_lastUpdated",
               absl::StrCat("'", date, "' is not a FHIR date or dateTime (e.g. 2025-06-01 or ",
                            "2025-06-01T10:00:00Z)"));
  }
  auto raise = [&](absl::Time t) { range.since = range.since ? std::max(*range.since, t) : t; };
  auto lower = [&](absl::Time t) { range.before = range.before ? std::min(*range.before, t) : t; };
  if (prefix == "eq") {
    raise(parsed->start);
    lower(parsed->end);
  } else if (prefix == "gt") {
    raise(parsed->end);
  } else if (prefix == "ge") {
    raise(parsed->start);
  } else if (prefix == "lt") {
    lower(parsed->start);
  } else {
    lower(parsed->end);
  }
  return absl::OkStatus();
}

absl::Status ApplySort(const std::string& value, SearchQuery& search) {
  if (value.find(',') != std::string::npos) return Unsupported("_sort", "one sort key only");
  absl::string_view key = value;
  const bool descending = absl::ConsumePrefix(&key, "-");
  std::string order;
  if (key == "_id") {
    order = "ods_code";
  } else if (key == "name") {
    order = "display_name";
  } else if (key == "address-postalcode") {
    order = "postcode";
  } else if (key == "_lastUpdated") {
    order = "update_time";
  } else {
    return Unsupported("_sort",
                       "one of _id, name, address-postalcode, _lastUpdated (- for "
                       "descending)");
  }
  search.list.set_order_by(descending ? absl::StrCat(order, " desc") : order);
  return absl::OkStatus();
}

}  // namespace

std::optional<DateRange> ParseFhirDate(const std::string& input) {
  std::string text = input;
  // A '+' of a zone offset arrives as a space when the caller did not percent-encode it.
  if (const size_t t = text.find('T'); t != std::string::npos) {
    if (const size_t space = text.find(' ', t); space != std::string::npos) text[space] = '+';
  }
  size_t pos = 0;
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  if (!Digits(text, &pos, 4, &year)) return std::nullopt;
  enum { kYear, kMonth, kDay, kMinute, kSecond, kFraction } precision = kYear;
  int64_t fraction_units = 1;  // the length of the last digit of a fraction, in 1e-6 s
  int64_t fraction_micros = 0;
  if (pos < text.size()) {
    if (text[pos++] != '-' || !Digits(text, &pos, 2, &month)) return std::nullopt;
    precision = kMonth;
  }
  if (pos < text.size()) {
    if (text[pos++] != '-' || !Digits(text, &pos, 2, &day)) return std::nullopt;
    precision = kDay;
  }
  absl::TimeZone zone = absl::UTCTimeZone();
  if (pos < text.size()) {
    if (text[pos++] != 'T' || !Digits(text, &pos, 2, &hour)) return std::nullopt;
    if (pos >= text.size() || text[pos++] != ':' || !Digits(text, &pos, 2, &minute)) {
      return std::nullopt;
    }
    precision = kMinute;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!Digits(text, &pos, 2, &second)) return std::nullopt;
      precision = kSecond;
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        size_t digits = 0;
        int64_t scale = 100000;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
          if (digits < 6) {
            fraction_micros += (text[pos] - '0') * scale;
            fraction_units = scale;
            scale /= 10;
          }
          ++digits;
          ++pos;
        }
        if (digits == 0) return std::nullopt;
        precision = kFraction;
      }
    }
    if (pos < text.size()) {
      if (text[pos] == 'Z') {
        ++pos;
      } else if (text[pos] == '+' || text[pos] == '-') {
        const int sign = text[pos++] == '+' ? 1 : -1;
        int zone_hours = 0, zone_minutes = 0;
        if (!Digits(text, &pos, 2, &zone_hours) || pos >= text.size() || text[pos++] != ':' ||
            !Digits(text, &pos, 2, &zone_minutes) || zone_hours > 14 || zone_minutes > 59) {
          return std::nullopt;
        }
        zone = absl::FixedTimeZone(sign * (zone_hours * 3600 + zone_minutes * 60));
      } else {
        return std::nullopt;
      }
    }
  }
  if (pos != text.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  // CivilSecond normalises (Feb 30 -> Mar 2): a date that moved was not a real one.
  if (civil.year() != year || civil.month() != month || civil.day() != day) return std::nullopt;
  const absl::Time start = absl::FromCivil(civil, zone) + absl::Microseconds(fraction_micros);
  absl::Time end;
  switch (precision) {
    case kYear:
      end = absl::FromCivil(absl::CivilYear(year + 1), zone);
      break;
    case kMonth:
      end = absl::FromCivil(absl::CivilMonth(year, month) + 1, zone);
      break;
    case kDay:
      end = absl::FromCivil(absl::CivilDay(year, month, day) + 1, zone);
      break;
    case kMinute:
      end = start + absl::Minutes(1);
      break;
    case kSecond:
      end = start + absl::Seconds(1);
      break;
    case kFraction:
      end = start + absl::Microseconds(fraction_units);
      break;
  }
  return DateRange{start, end};
}

absl::StatusOr<SearchQuery> ParseSearch(const QueryList& query, bool lenient) {
  SearchQuery search;
  UpdateRange updates;
  std::vector<std::string> seen;
  for (const auto& [raw_name, value] : query) {
    std::string name = raw_name;
    std::string modifier;
    if (const size_t colon = name.find(':'); colon != std::string::npos) {
      modifier = name.substr(colon + 1);
      name = name.substr(0, colon);
    }
    absl::Status status;
    bool used = true;
    const bool repeated =
        std::find(seen.begin(), seen.end(), name) != seen.end() && name != "_lastUpdated";
    const bool known = name == "name" || name == "address-postalcode" || name == "active" ||
                       name == "type" || name == "partof" || name == "_lastUpdated" ||
                       name == "_count" || name == "_sort" || name == "_summary" ||
                       name == "_format" || name == "_page_token";
    if (!known) {
      status = Unsupported(raw_name, "not supported on Organization (see /fhir/R4/metadata)");
    } else if (!modifier.empty() && !(name == "name" && modifier == "contains")) {
      status = Unsupported(raw_name, absl::StrCat("modifier ':", modifier, "' is not supported"));
    } else if (repeated) {
      status = Unsupported(raw_name, "given more than once");
    } else if (value.empty()) {
      status = Bad(raw_name, "empty value");
    } else if (name == "name") {
      if (modifier == "contains") {
        search.list.set_name_contains(value);
      } else {
        search.list.set_name_prefix(value);
      }
    } else if (name == "address-postalcode") {
      search.list.set_postcode_prefix(value);
    } else if (name == "active") {
      if (value == "true") {
        search.list.add_statuses(v1::Practice::STATUS_ACTIVE);
      } else if (value == "false") {
        search.list.add_statuses(v1::Practice::STATUS_CLOSED);
        search.list.add_statuses(v1::Practice::STATUS_DORMANT);
        search.list.add_statuses(v1::Practice::STATUS_PROPOSED);
      } else {
        status = Bad(raw_name, "true or false");
      }
    } else if (name == "type") {
      status = ApplyType(value, search);
    } else if (name == "partof") {
      status = ApplyPartOf(value, search);
    } else if (name == "_lastUpdated") {
      status = ApplyLastUpdated(value, updates);
    } else if (name == "_count") {
      int count = 0;
      if (!AllDigits(value) || !absl::SimpleAtoi(value, &count)) {
        // Digits only: also refuses signs and counts beyond int.
        status = Bad(raw_name, "a whole number, 0 or more");
      } else {
        count = std::min(count, kMaxCount);
        search.count_zero = count == 0;
        search.list.set_page_size(count == 0 ? 1 : count);
      }
    } else if (name == "_sort") {
      status = ApplySort(value, search);
    } else if (name == "_summary") {
      if (value == "count") {
        search.summary_count = true;
      } else if (value != "false") {
        status = Unsupported(raw_name, "only count and false are supported");
      }
    } else if (name == "_format") {
      used = false;
      if (value != "json" && value != "application/json" && value != "application/fhir+json") {
        status = Unsupported(raw_name, "only json is served");
      }
    } else if (name == "_page_token") {
      used = false;
      search.list.set_page_token(value);
    }
    if (!status.ok()) {
      if (lenient && absl::IsUnimplemented(status)) continue;  // ignored: not in the links
      return status;
    }
    seen.push_back(name);
    if (used) search.used.emplace_back(raw_name, value);
  }
  if (search.list.page_size() == 0) search.list.set_page_size(kDefaultCount);
  if (updates.since) *search.list.mutable_update_time_since() = ToTimestamp(*updates.since);
  if (updates.before) *search.list.mutable_update_time_before() = ToTimestamp(*updates.before);
  if (updates.since && updates.before && *updates.since >= *updates.before) {
    search.matches_nothing = true;
  }
  return search;
}

}  // namespace dorset::gateway::fhir
