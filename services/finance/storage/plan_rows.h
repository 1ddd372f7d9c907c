// The plan domain's storage (domain/plan_storage.h) on the finance store, either engine: the
// node, target, total and budget_line tables. The only place the plan tree's SQL lives.
#ifndef DORSET_SERVICES_FINANCE_STORAGE_PLAN_ROWS_H_
#define DORSET_SERVICES_FINANCE_STORAGE_PLAN_ROWS_H_

#include "services/finance/domain/plan_storage.h"
#include "services/finance/storage/store.h"

namespace dorset::finance {

class SqlPlanStorage final : public PlanStorage {
 public:
  explicit SqlPlanStorage(FinanceStore& store) : store_(store) {}

  absl::Status Write(absl::FunctionRef<absl::Status(PlanRows&)> fn) override;
  absl::Status Read(absl::FunctionRef<absl::Status(PlanRows&)> fn) override;

 private:
  FinanceStore& store_;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_PLAN_ROWS_H_
