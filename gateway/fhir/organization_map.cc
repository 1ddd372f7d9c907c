// The UK Core Organization mapping (see organization_map.h and docs/fhir.md).
#include "gateway/fhir/organization_map.h"

#include <cctype>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/civil_time.h"
#include "google/protobuf/util/time_util.h"

namespace dorset::gateway::fhir {
namespace {

namespace v1 = registry::v1;

bool IsPracticeCode(absl::string_view id) {
  if (id.size() != 6) return false;
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (upper(id[0]) && digit(id[1]) && digit(id[2]) && digit(id[3]) && digit(id[4]) &&
      digit(id[5])) {
    return true;
  }
  return upper(id[0]) && upper(id[1]) && upper(id[2]) && digit(id[3]) && digit(id[4]) &&
         digit(id[5]);
}

bool IsLocalId(absl::string_view id) {
  if (id.empty() || id.size() > 63 || id[0] == '-') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Json Meta(std::optional<absl::Time> updated, std::optional<int64_t> revision) {
  Json meta = Json::Object();
  if (revision) meta.Set("versionId", absl::StrCat(*revision));
  if (updated) meta.Set("lastUpdated", FhirInstant(*updated));
  meta.Set("profile", Json::Array().Add(Json::String(kUkCoreOrganizationProfile)));
  return meta;
}

Json Identifier(absl::string_view system, absl::string_view value) {
  return Json::Object().Set("use", "official").Set("system", system).Set("value", value);
}

Json Coding(absl::string_view system, absl::string_view code, absl::string_view display) {
  Json coding = Json::Object().Set("system", system).Set("code", code);
  coding.SetIfNotEmpty("display", display);
  return Json::Object().Set("coding", Json::Array().Add(std::move(coding)));
}

Json Reference(absl::string_view id, absl::string_view display = "") {
  Json reference = Json::Object().Set("reference", absl::StrCat("Organization/", id));
  reference.SetIfNotEmpty("display", display);
  return reference;
}

Json OdsReference(absl::string_view code) {
  return Reference(code).Set("identifier",
                             Json::Object().Set("system", kOdsCodeSystem).Set("value", code));
}

// "localities/poole-bay" -> "poole-bay".
absl::string_view IdOf(absl::string_view name) {
  const size_t slash = name.find('/');
  return slash == absl::string_view::npos ? name : name.substr(slash + 1);
}

Json Base(absl::string_view id) {
  return Json::Object().Set("resourceType", "Organization").Set("id", id);
}

}  // namespace

std::optional<OrganizationId> ParseOrganizationId(absl::string_view id) {
  if (IsPracticeCode(id)) return OrganizationId{OrganizationId::Kind::kPractice, std::string(id)};
  if (absl::StartsWith(id, kLocalityIdPrefix)) {
    absl::string_view key = id.substr(sizeof(kLocalityIdPrefix) - 1);
    if (!IsLocalId(key)) return std::nullopt;
    return OrganizationId{OrganizationId::Kind::kLocality, std::string(key)};
  }
  if (absl::StartsWith(id, kClusterIdPrefix)) {
    absl::string_view key = id.substr(sizeof(kClusterIdPrefix) - 1);
    if (!IsLocalId(key)) return std::nullopt;
    return OrganizationId{OrganizationId::Kind::kCluster, std::string(key)};
  }
  // Commissioner and ICB codes: 3-5 upper-case letters and digits.
  if (id.size() < 3 || id.size() > 5) return std::nullopt;
  for (char c : id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return std::nullopt;
  }
  return OrganizationId{OrganizationId::Kind::kOdsOrganisation, std::string(id)};
}

std::string FhirInstant(absl::Time time) {
  // Whole microseconds in the years 1000-9999 (every time the registry gives) are written
  // here directly: absl::FormatTime (cctz) was a twentieth of a search page's CPU in the
  // gateway. The output is FormatTime's, which writes anything else (FhirInstantTest).
  constexpr int64_t kFirst = -30610224000;  // 1000-01-01T00:00:00Z
  constexpr int64_t kEnd = 253402300800;    // 10000-01-01T00:00:00Z
  const int64_t micros = absl::ToUnixMicros(time);
  int64_t seconds = micros / 1000000;
  int64_t fraction = micros % 1000000;
  if (fraction < 0) {
    fraction += 1000000;
    --seconds;
  }
  if (absl::FromUnixMicros(micros) != time || seconds < kFirst || seconds >= kEnd) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
  }
  const CivilUtc t = CivilUtcFromUnixSeconds(seconds);
  char text[32];
  int n =
      std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d", static_cast<int>(t.year),
                    static_cast<int>(t.month), static_cast<int>(t.day), static_cast<int>(t.hour),
                    static_cast<int>(t.minute), static_cast<int>(t.second));
  if (fraction != 0) {
    int digits = 6;
    while (fraction % 10 == 0) {  // %E*S: as many digits as needed
      fraction /= 10;
      --digits;
    }
    n += std::snprintf(text + n, sizeof text - n, ".%0*d", digits, static_cast<int>(fraction));
  }
  text[n++] = 'Z';
  return std::string(text, n);
}

std::optional<int64_t> RevisionFromEtag(absl::string_view etag) {
  if (!absl::StartsWith(etag, "W/\"") || !absl::EndsWith(etag, "\"") || etag.size() < 5) {
    return std::nullopt;
  }
  int64_t revision = 0;
  if (!absl::SimpleAtoi(etag.substr(3, etag.size() - 4), &revision) || revision <= 0) {
    return std::nullopt;
  }
  return revision;
}

absl::string_view PrescribingSettingName(int setting) {
  // epraccur field 26, as the ODS file specification names the values.
  switch (setting) {
    case 0:
      return "Other";
    case 1:
      return "WIC Practice";
    case 2:
      return "OOH Practice";
    case 3:
      return "WIC + OOH Practice";
    case 4:
      return "GP Practice";
    case 8:
      return "Public Health Service";
    case 9:
      return "Community Health Service";
    case 10:
      return "Hospital Service";
    case 11:
      return "Optometry Service";
    case 12:
      return "Urgent & Emergency Care";
    case 13:
      return "Hospice";
    case 14:
      return "Care Home / Nursing Home";
    case 15:
      return "Border Force";
    case 16:
      return "Young Offender Institution";
    case 17:
      return "Secure Training Centre";
    case 18:
      return "Secure Children's Home";
    case 19:
      return "Immigration Removal Centre";
    case 20:
      return "Court";
    case 21:
      return "Police Custody";
    case 22:
      return "Sexual Assault Referral Centre (SARC)";
    case 24:
      return "Other - Justice Estate";
    case 25:
      return "Prison";
    default:
      return "";
  }
}

Json PracticeOrganization(const v1::Practice& practice) {
  Json org = Base(practice.ods_code());
  std::optional<absl::Time> updated;
  if (practice.has_update_time()) {
    updated = absl::FromUnixMicros(
        google::protobuf::util::TimeUtil::TimestampToMicroseconds(practice.update_time()));
  }
  org.Set("meta", Meta(updated, RevisionFromEtag(practice.etag())));

  Json extensions = Json::Array();
  if (!practice.open_date().empty() || !practice.close_date().empty()) {
    Json period = Json::Object();
    period.SetIfNotEmpty("start", practice.open_date());
    period.SetIfNotEmpty("end", practice.close_date());
    extensions.Add(Json::Object()
                       .Set("url", kOperationalPeriodExtension)
                       .Set("valuePeriod", std::move(period)));
  }
  if (!practice.successor().empty()) {
    extensions.Add(Json::Object()
                       .Set("url", kSuccessorExtension)
                       .Set("valueReference", OdsReference(IdOf(practice.successor()))));
  }
  if (!extensions.empty()) org.Set("extension", std::move(extensions));

  org.Set("identifier", Json::Array().Add(Identifier(kOdsCodeSystem, practice.ods_code())));
  org.Set("active", Json::Bool(practice.status() == v1::Practice::STATUS_ACTIVE));

  // Every epraccur organisation is a prescribing cost centre (primary role RO177); a GP
  // practice (setting 4) also has the non-primary role RO76. Other settings are typed by the
  // setting itself: ODS gives them no role this file carries.
  Json types = Json::Array().Add(
      Coding(kOdsRoleSystem, kRolePrescribingCostCentre, "PRESCRIBING COST CENTRE"));
  if (practice.prescribing_setting() == kGpPracticeSetting) {
    types.Add(Coding(kOdsRoleSystem, kRoleGpPractice, "GP PRACTICE"));
  } else {
    types.Add(Coding(kPrescribingSettingSystem, absl::StrCat(practice.prescribing_setting()),
                     PrescribingSettingName(practice.prescribing_setting())));
  }
  org.Set("type", std::move(types));
  org.SetIfNotEmpty("name", practice.display_name());

  if (!practice.telephone().empty()) {
    org.Set("telecom", Json::Array().Add(Json::Object()
                                             .Set("system", "phone")
                                             .Set("value", practice.telephone())
                                             .Set("use", "work")));
  }
  // epraccur's five address lines are not typed by position (the town is line 3 for one
  // practice and line 4 for the next), so all of them are address.line, in order.
  Json address = Json::Object().Set("use", "work");
  Json lines = Json::Array();
  for (const std::string& line : practice.address_lines()) {
    if (!line.empty()) lines.Add(Json::String(line));
  }
  if (!lines.empty()) address.Set("line", lines);
  address.SetIfNotEmpty("postalCode", practice.postcode());
  if (!lines.empty() || !practice.postcode().empty()) {
    org.Set("address", Json::Array().Add(address));
  }

  if (!practice.locality().empty()) {
    org.Set("partOf", Reference(absl::StrCat(kLocalityIdPrefix, IdOf(practice.locality()))));
  } else if (!practice.commissioner().empty()) {
    org.Set("partOf", OdsReference(practice.commissioner()));
  }
  return org;
}

Json LocalityOrganization(const v1::Locality& locality) {
  const absl::string_view id = IdOf(locality.name());
  Json org = Base(absl::StrCat(kLocalityIdPrefix, id));
  org.Set("meta", Meta(std::nullopt, std::nullopt));
  org.Set("identifier", Json::Array().Add(Identifier(kLocalityIdSystem, id)));
  org.Set("active", Json::Bool(true));
  org.Set("type", Json::Array().Add(Coding(kLocalTypeSystem, "locality", "Locality")));
  org.SetIfNotEmpty("name", locality.display_name());
  if (!locality.cluster().empty()) {
    org.Set("partOf", Reference(absl::StrCat(kClusterIdPrefix, IdOf(locality.cluster()))));
  }
  return org;
}

Json ClusterOrganization(const v1::Cluster& cluster) {
  const absl::string_view id = IdOf(cluster.name());
  Json org = Base(absl::StrCat(kClusterIdPrefix, id));
  org.Set("meta", Meta(std::nullopt, std::nullopt));
  org.Set("identifier", Json::Array().Add(Identifier(kClusterIdSystem, id)));
  org.Set("active", Json::Bool(true));
  org.Set("type", Json::Array().Add(Coding(kLocalTypeSystem, "cluster", "Cluster")));
  org.SetIfNotEmpty("name", cluster.display_name());
  org.Set("partOf", OdsReference(kGoverningBodyCode));
  return org;
}

Json SubIcbOrganization(const v1::GoverningBody& body) {
  Json org = Base(body.ods_code());
  org.Set("meta", Meta(std::nullopt, std::nullopt));
  org.Set("identifier", Json::Array().Add(Identifier(kOdsCodeSystem, body.ods_code())));
  org.Set("active", Json::Bool(true));
  org.Set("type", Json::Array()
                      .Add(Coding(kOdsRoleSystem, "RO98", "CLINICAL COMMISSIONING GROUP"))
                      .Add(Coding(kOdsRoleSystem, "RO319", "SUB ICB LOCATION")));
  // ODS names a sub-ICB location "<ICB name> ICB - <code>" (11J: "NHS Dorset ICB - 11J").
  org.Set("name", body.icb().empty()
                      ? body.display_name()
                      : absl::StrCat(body.display_name(), " ICB - ", body.ods_code()));
  if (!body.icb().empty()) org.Set("partOf", OdsReference(body.icb()));
  return org;
}

Json IcbOrganization(const v1::GoverningBody& body) {
  Json org = Base(body.icb());
  org.Set("meta", Meta(std::nullopt, std::nullopt));
  org.Set("identifier", Json::Array().Add(Identifier(kOdsCodeSystem, body.icb())));
  org.Set("active", Json::Bool(true));
  org.Set("type", Json::Array()
                      .Add(Coding(kOdsRoleSystem, "RO261", "STRATEGIC PARTNERSHIP"))
                      .Add(Coding(kOdsRoleSystem, "RO318", "INTEGRATED CARE BOARD")));
  org.SetIfNotEmpty("name", body.display_name());
  return org;
}

}  // namespace dorset::gateway::fhir
