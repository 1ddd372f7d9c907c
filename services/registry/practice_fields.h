// Which Practice fields come from which source, and a field-by-field comparison used to
// decide whether an import or update changed a practice (and to list what changed).
#ifndef DORSET_SERVICES_REGISTRY_PRACTICE_FIELDS_H_
#define DORSET_SERVICES_REGISTRY_PRACTICE_FIELDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "dorset/registry/v1/registry.pb.h"

namespace dorset::registry {

// The fields the ODS epraccur extract sets (an import overwrites exactly these).
const std::vector<std::string>& OdsFields();
// The fields UpdatePractice accepts in its update_mask.
const std::vector<std::string>& UpdatableFields();

// The names in `fields` whose values differ between `a` and `b` (singular scalars, enums,
// optional fields' presence, repeated strings).
std::vector<std::string> DiffFields(const v1::Practice& a, const v1::Practice& b,
                                    const std::vector<std::string>& fields);

// Copies the named fields from `from` to `to`.
void CopyFields(const v1::Practice& from, v1::Practice& to, const std::vector<std::string>& fields);

std::string_view StatusLetter(v1::Practice::Status status);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_PRACTICE_FIELDS_H_
