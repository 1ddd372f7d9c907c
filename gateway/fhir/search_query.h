// FHIR search on Organization (docs/fhir.md, "Search"): the query string of
// GET /fhir/R4/Organization?... read into the registry's ListPracticesRequest, with FHIR's
// rules for what cannot be served: an unknown parameter, modifier or value is refused unless
// the caller asked for lenient handling (Prefer: handling=lenient), when it is ignored and left
// out of the self link.
#ifndef DORSET_GATEWAY_FHIR_SEARCH_QUERY_H_
#define DORSET_GATEWAY_FHIR_SEARCH_QUERY_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dorset/registry/v1/registry.pb.h"

namespace dorset::gateway::fhir {

using QueryList = std::vector<std::pair<std::string, std::string>>;

inline constexpr int kDefaultCount = 50;
inline constexpr int kMaxCount = 1000;  // the registry's largest page

struct SearchQuery {
  // Filters, order, page size and the continuation token for ListPractices.
  registry::v1::ListPracticesRequest list;
  // _summary=count: the total only, no entries.
  bool summary_count = false;
  // _count=0: the total only (as _summary=count).
  bool count_zero = false;
  // A filter no practice can match (a type code practices never have): nothing to ask.
  bool matches_nothing = false;
  // The parameters as understood, for the self and next links (without _page_token).
  QueryList used;
};

// Reads the query. Errors: INVALID_ARGUMENT for a bad value (the message names the parameter),
// UNIMPLEMENTED for a parameter, modifier or form this server does not support (both are 400
// OperationOutcomes; see fhir_service.h). With `lenient` unsupported parameters are dropped
// instead; bad values of supported ones are still refused.
absl::StatusOr<SearchQuery> ParseSearch(const QueryList& query, bool lenient);

// A FHIR date/dateTime search value as the range it stands for ("2025" is the whole year,
// "2025-06-01T10:00:00Z" one second): [start, end). Times without a zone are UTC.
struct DateRange {
  absl::Time start;
  absl::Time end;
};
std::optional<DateRange> ParseFhirDate(const std::string& text);

}  // namespace dorset::gateway::fhir

#endif  // DORSET_GATEWAY_FHIR_SEARCH_QUERY_H_
