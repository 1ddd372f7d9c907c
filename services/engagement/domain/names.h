// Resource names of the engagement service (AIP-122) and the syntactic checks on them: parsing
// "activities/{a}/themes/{t}" and friends, id rules, and the finance scheme link's form.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_NAMES_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dorset::engagement {

// [a-z][a-z0-9-]{0,62}: the ids clients may choose (and the ones we generate).
bool IsValidId(std::string_view id);
// A fresh random id starting with `prefix` (a lower-case letter).
std::string NewId(char prefix);

std::string StakeholderName(std::string_view id);
std::string ActivityName(std::string_view id);
std::string ThemeName(std::string_view activity, std::string_view theme);
std::string ResponseName(std::string_view activity, int64_t response);
std::string DecisionName(std::string_view activity, std::string_view decision);

// Each returns the ids, or INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::string> ParseStakeholderName(std::string_view name, std::string_view field);
absl::StatusOr<std::string> ParseActivityName(std::string_view name, std::string_view field);
// "activities/{a}/{collection}/{id}" with a text id.
struct ChildName {
  std::string activity;
  std::string id;
};
absl::StatusOr<ChildName> ParseThemeName(std::string_view name, std::string_view field);
absl::StatusOr<ChildName> ParseDecisionName(std::string_view name, std::string_view field);
struct ResponseId {
  std::string activity;
  int64_t id = 0;
};
absl::StatusOr<ResponseId> ParseResponseName(std::string_view name, std::string_view field);
// "activities/{a}/{suffix}" (aggregates, youSaidWeDid).
absl::StatusOr<std::string> ParseActivitySingleton(std::string_view name, std::string_view suffix,
                                                   std::string_view field);

// plans/{p}/programmes/{g}/schemes/{s}: checked for form only (the finance service owns them).
bool IsFinanceSchemeName(std::string_view name);
// localities/{id} and practices/{code}: the registry's names, checked for form here and for
// existence through the registry client.
bool IsLocalityName(std::string_view name);
bool IsPracticeName(std::string_view name);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_NAMES_H_
