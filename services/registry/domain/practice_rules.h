// The registry's request rules, without gRPC: resource names, the value rules of each practice
// field, the ListPractices query and its keyset cursor. Used by the domain (registry_domain.h);
// every refusal is INVALID_ARGUMENT naming the field.
#ifndef DORSET_SERVICES_REGISTRY_DOMAIN_PRACTICE_RULES_H_
#define DORSET_SERVICES_REGISTRY_DOMAIN_PRACTICE_RULES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dorset/registry/v1/registry.pb.h"
#include "runtime/status/errors.h"
#include "services/registry/storage/store.h"

namespace dorset::registry {

// Page sizes: ListPractices and revisions default to 50, the other lists to 100; at most 1000.
inline constexpr int kDefaultPracticePage = 50;
inline constexpr int kDefaultPage = 100;
inline constexpr int kMaxPage = 1000;
inline constexpr int64_t kMaxListSize = 1'000'000;

// The ODS code of "practices/{ods_code}"; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::string> PracticeCode(const std::string& name, std::string_view field);
// The id of "{collection}/{id}" with a lower-case slug id.
absl::StatusOr<std::string> SlugFrom(const std::string& name, std::string_view collection,
                                     std::string_view field);
// Checks the value of one updatable/creatable field; appends violations.
void CheckField(const v1::Practice& p, const std::string& field,
                std::vector<runtime::FieldViolation>& violations);
// Normalises the fields a caller may send (postcode spelling) after validation.
void Normalize(v1::Practice& p);
absl::Status CheckListSizePair(const v1::Practice& p);
// The caller's etag against the stored practice's (ABORTED when stale).
absl::Status CheckEtag(const v1::Practice& stored, const std::string& etag, std::string_view field);
std::string EncodeCursor(const PracticeCursor& c);
absl::StatusOr<PracticeCursor> DecodeCursor(const std::string& position);
// The validated filters and order of a ListPractices request.
absl::StatusOr<PracticeQuery> BuildPracticeQuery(const v1::ListPracticesRequest& r);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_DOMAIN_PRACTICE_RULES_H_
