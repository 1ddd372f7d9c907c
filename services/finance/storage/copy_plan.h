// What `dorset-store copy --service finance` copies (docs/storage.md, the copy tool): the finance
// tables in an order that satisfies their foreign keys, with their columns, and the checks
// that verify a copy: ledger totals per scheme and year in exact pence, the highest posting id
// (the ledger's sequence) and the stored running totals. Kept beside the schema so a new
// migration that adds a table or column updates it in the same folder.
#ifndef DORSET_SERVICES_FINANCE_STORAGE_COPY_PLAN_H_
#define DORSET_SERVICES_FINANCE_STORAGE_COPY_PLAN_H_

#include "runtime/storage/copy.h"

namespace dorset::finance {

const runtime::storage::CopyPlan& FinanceCopyPlan();

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_COPY_PLAN_H_
