// The UK Core Organization view of the registry's resources (docs/fhir.md, field by field):
// a practice (prescribing cost centre), a locality, a cluster, the sub-ICB location (the
// governing body, 11J) and its ICB (QVV). Pure functions of the registry's messages, so the
// mapping is tested without a server; fhir_service.h fetches the messages.
#ifndef DORSET_GATEWAY_FHIR_ORGANIZATION_MAP_H_
#define DORSET_GATEWAY_FHIR_ORGANIZATION_MAP_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dorset/registry/v1/registry.pb.h"
#include "gateway/fhir/fhir_json.h"

namespace dorset::gateway::fhir {

// Published systems.
inline constexpr char kUkCoreOrganizationProfile[] =
    "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Organization";
inline constexpr char kOdsCodeSystem[] = "https://fhir.nhs.uk/Id/ods-organization-code";
inline constexpr char kOdsRoleSystem[] =
    "https://digital.nhs.uk/services/organisation-data-service/CodeSystem/ODSOrganisationRole";
// Dorset's own systems for what ODS does not code (docs/fhir.md, "Local systems").
inline constexpr char kLocalityIdSystem[] = "https://fhir.dorset.nhs.uk/Id/locality";
inline constexpr char kClusterIdSystem[] = "https://fhir.dorset.nhs.uk/Id/cluster";
inline constexpr char kLocalTypeSystem[] =
    "https://fhir.dorset.nhs.uk/CodeSystem/organisation-type";
inline constexpr char kPrescribingSettingSystem[] =
    "https://fhir.dorset.nhs.uk/CodeSystem/ods-prescribing-setting";
inline constexpr char kOperationalPeriodExtension[] =
    "https://fhir.dorset.nhs.uk/StructureDefinition/Extension-OperationalPeriod";
inline constexpr char kSuccessorExtension[] =
    "https://fhir.dorset.nhs.uk/StructureDefinition/Extension-Successor";

// The logical ids of the non-practice organisations: ODS codes have no '-', so the prefixes
// cannot collide with a practice.
inline constexpr char kLocalityIdPrefix[] = "locality-";
inline constexpr char kClusterIdPrefix[] = "cluster-";
// The governing body whose clusters these are (the registry's default, NHS Dorset).
inline constexpr char kGoverningBodyCode[] = "11J";

// ODS role codes used in Organization.type.
inline constexpr char kRolePrescribingCostCentre[] = "RO177";
inline constexpr char kRoleGpPractice[] = "RO76";
inline constexpr int kGpPracticeSetting = 4;

// What a logical id names.
struct OrganizationId {
  enum class Kind { kPractice, kLocality, kCluster, kOdsOrganisation };
  Kind kind;
  std::string key;  // ODS code, locality id or cluster id
};
// Parses a FHIR logical id ("J81016", "locality-poole-bay", "cluster-poole", "11J", "QVV");
// nullopt when it cannot name anything the registry holds.
std::optional<OrganizationId> ParseOrganizationId(absl::string_view id);

// "2026-11-30T19:46:23.5Z": a FHIR instant, UTC, fractional seconds only when present.
std::string FhirInstant(absl::Time time);
// The revision in an etag W/"<revision>"; nullopt when it is not in that form.
std::optional<int64_t> RevisionFromEtag(absl::string_view etag);
// The display name of a prescribing setting ("GP Practice"), "" when unknown.
absl::string_view PrescribingSettingName(int setting);

Json PracticeOrganization(const registry::v1::Practice& practice);
Json LocalityOrganization(const registry::v1::Locality& locality);
Json ClusterOrganization(const registry::v1::Cluster& cluster);
// The sub-ICB location (RO98 + RO319), part of its ICB.
Json SubIcbOrganization(const registry::v1::GoverningBody& body);
// The ICB of `body` (RO261 + RO318), named as the registry names the body ("NHS Dorset").
Json IcbOrganization(const registry::v1::GoverningBody& body);

}  // namespace dorset::gateway::fhir

#endif  // DORSET_GATEWAY_FHIR_ORGANIZATION_MAP_H_
