// What `dorset-store copy --service registry` copies (docs/storage.md, the copy tool): the
// registry's tables in an order that satisfies their foreign keys, with their columns, and the
// checks that verify a copy: the change feed (highest sequence, count, and the counter the next
// sequence is taken from), the practices' revisions and their revision history. Kept beside the
// schema so a migration that adds a table or column updates it in the same folder.
#ifndef DORSET_SERVICES_REGISTRY_STORAGE_COPY_PLAN_H_
#define DORSET_SERVICES_REGISTRY_STORAGE_COPY_PLAN_H_

#include "runtime/storage/copy.h"

namespace dorset::registry {

const runtime::storage::CopyPlan& RegistryCopyPlan();

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_STORAGE_COPY_PLAN_H_
