// GET /fhir/R4/metadata: the CapabilityStatement, listing exactly what fhir_service.h serves
// (Organization read, search-type with the parameters search_query.h reads, history-instance).
#ifndef DORSET_GATEWAY_FHIR_CAPABILITY_H_
#define DORSET_GATEWAY_FHIR_CAPABILITY_H_

#include <string>

namespace dorset::gateway::fhir {

// `base_url`: "https://host:port" (the statement's implementation.url is <base_url>/fhir/R4).
std::string CapabilityStatementJson(const std::string& base_url);

}  // namespace dorset::gateway::fhir

#endif  // DORSET_GATEWAY_FHIR_CAPABILITY_H_
