// The CapabilityStatement (see capability.h). Keep it in step with search_query.cc and
// docs/fhir.md: the tests read the parameters listed here and try each one.
#include "gateway/fhir/capability.h"

#include "absl/strings/str_cat.h"
#include "gateway/fhir/fhir_json.h"
#include "gateway/fhir/organization_map.h"

namespace dorset::gateway::fhir {
namespace {

// The date this statement last changed (CapabilityStatement.date is required).
constexpr char kStatementDate[] = "2026-11-30";

Json Param(const char* name, const char* type, const char* definition, const char* doc) {
  return Json::Object()
      .Set("name", name)
      .Set("definition", definition)
      .Set("type", type)
      .Set("documentation", doc);
}

}  // namespace

std::string CapabilityStatementJson(const std::string& base_url) {
  Json params = Json::Array();
  params.Add(Param("name", "string", "http://hl7.org/fhir/SearchParameter/Organization-name",
                   "Case-insensitive start of the name; name:contains matches anywhere in it."));
  params.Add(Param("address-postalcode", "string",
                   "http://hl7.org/fhir/SearchParameter/Organization-address-postalcode",
                   "Start of the postcode, spaces ignored (BH22, BH22 9)."));
  params.Add(Param("active", "token", "http://hl7.org/fhir/SearchParameter/Organization-active",
                   "true: ODS status A (active); false: closed, dormant or proposed."));
  params.Add(Param("type", "token", "http://hl7.org/fhir/SearchParameter/Organization-type",
                   "One code: an ODS role (RO177 every practice, RO76 GP practices) or a "
                   "prescribing setting of https://fhir.dorset.nhs.uk/CodeSystem/"
                   "ods-prescribing-setting."));
  params.Add(Param("partof", "reference", "http://hl7.org/fhir/SearchParameter/Organization-partof",
                   "Organization/locality-{id}: the practices of a locality."));
  params.Add(Param("_lastUpdated", "date",
                   "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
                   "Prefixes eq (or none), gt, ge, lt, le; may be given twice for a range. "
                   "Dates without a zone are UTC."));
  Json resource =
      Json::Object()
          .Set("type", "Organization")
          .Set("profile", "http://hl7.org/fhir/StructureDefinition/Organization")
          .Set("supportedProfile", Json::Array().Add(Json::String(kUkCoreOrganizationProfile)))
          .Set("documentation",
               "Practices (prescribing cost centres) by ODS code, Dorset's localities "
               "(locality-{id}) and clusters (cluster-{id}), the sub-ICB location and its ICB. "
               "Search returns practices only. Result parameters: _count (default 50, at most "
               "1000), _sort (_id, name, address-postalcode, _lastUpdated; - for descending), "
               "_summary=count. Unknown parameters are refused unless Prefer: handling=lenient.")
          .Set("interaction", Json::Array()
                                  .Add(Json::Object().Set("code", "read"))
                                  .Add(Json::Object().Set("code", "search-type"))
                                  .Add(Json::Object().Set("code", "history-instance")))
          .Set("versioning", "versioned")
          .Set("readHistory", Json::Bool(false))
          .Set("updateCreate", Json::Bool(false))
          .Set("searchParam", std::move(params));
  Json rest =
      Json::Object()
          .Set("mode", "server")
          .Set("documentation", "Read-only. docs/fhir.md describes the mapping.")
          .Set("security",
               Json::Object()
                   .Set("cors", Json::Bool(false))
                   .Set("description",
                        "Authorization: Bearer <token>, checked by the registry with the same "
                        "tokens and roles as its gRPC API (role reader or above)."))
          .Set("resource", Json::Array().Add(std::move(resource)));
  Json statement =
      Json::Object()
          .Set("resourceType", "CapabilityStatement")
          .Set("name", "DorsetRegistryFhir")
          .Set("title", "Dorset Digital registry, FHIR R4 (read-only)")
          .Set("status", "active")
          .Set("date", kStatementDate)
          .Set("publisher", "Dorset Digital")
          .Set("kind", "instance")
          .Set("software", Json::Object().Set("name", "dorset-gateway"))
          .Set("implementation",
               Json::Object()
                   .Set("description", "The registry's GP practices, localities and clusters")
                   .Set("url", absl::StrCat(base_url, "/fhir/R4")))
          .Set("fhirVersion", "4.0.1")
          .Set("format",
               Json::Array().Add(Json::String("application/fhir+json")).Add(Json::String("json")))
          .Set("rest", Json::Array().Add(std::move(rest)));
  return statement.Serialize();
}

}  // namespace dorset::gateway::fhir
