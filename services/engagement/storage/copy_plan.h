// What `dorset-store copy --service engagement` copies (docs/storage.md, the copy tool): the
// engagement tables in an order that satisfies their foreign keys, with their columns, and the
// checks that verify a copy: the response counters behind the aggregates (per activity and
// dimension), the responses per activity and the highest response id (the next one continues
// after it). Kept beside the schema so a migration that adds a table or column updates it here.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_COPY_PLAN_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_COPY_PLAN_H_

#include "runtime/storage/copy.h"

namespace dorset::engagement {

const runtime::storage::CopyPlan& EngagementCopyPlan();

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_COPY_PLAN_H_
