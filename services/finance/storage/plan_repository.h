// The plan tree (plans, programmes, schemes with their annual targets) and the budget lines:
// create, read, list, update, close. Targets are stored on schemes only; a programme's or a
// plan's targets are summed from its schemes on every read, so they cannot disagree.
#ifndef DORSET_SERVICES_FINANCE_PLAN_REPOSITORY_H_
#define DORSET_SERVICES_FINANCE_PLAN_REPOSITORY_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "runtime/api/page_token.h"
#include "services/finance/storage/store.h"

namespace dorset::finance {

class PlanRepository {
 public:
  PlanRepository(FinanceStore& store, runtime::PageTokenCodec codec)
      : store_(store), codec_(std::move(codec)) {}

  absl::StatusOr<v1::Plan> CreatePlan(const v1::CreatePlanRequest& request);
  absl::StatusOr<v1::Plan> GetPlan(const std::string& name);
  absl::StatusOr<v1::ListPlansResponse> ListPlans(const v1::ListPlansRequest& request);

  absl::StatusOr<v1::Programme> CreateProgramme(const v1::CreateProgrammeRequest& request);
  absl::StatusOr<v1::Programme> GetProgramme(const std::string& name);
  absl::StatusOr<v1::ListProgrammesResponse> ListProgrammes(
      const v1::ListProgrammesRequest& request);

  absl::StatusOr<v1::Scheme> CreateScheme(const v1::CreateSchemeRequest& request);
  absl::StatusOr<v1::Scheme> GetScheme(const std::string& name);
  absl::StatusOr<v1::ListSchemesResponse> ListSchemes(const v1::ListSchemesRequest& request);
  absl::StatusOr<v1::Scheme> UpdateScheme(const v1::UpdateSchemeRequest& request);
  absl::StatusOr<v1::Scheme> CloseScheme(const v1::CloseSchemeRequest& request);

  absl::StatusOr<v1::BudgetLine> CreateBudgetLine(const v1::CreateBudgetLineRequest& request);
  absl::StatusOr<v1::BudgetLine> GetBudgetLine(const std::string& name);
  absl::StatusOr<v1::ListBudgetLinesResponse> ListBudgetLines(
      const v1::ListBudgetLinesRequest& request);
  absl::StatusOr<v1::BudgetLine> UpdateBudgetLine(const v1::UpdateBudgetLineRequest& request);
  // (scope, amount) of every budget line of `year`, for per-head figures.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> BudgetByScope(int year);

 private:
  FinanceStore& store_;
  const runtime::PageTokenCodec codec_;
};

// Checks a resource id chosen by the client: [a-z][a-z0-9-]{0,62}.
absl::Status CheckResourceId(const std::string& id, std::string_view field);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_PLAN_REPOSITORY_H_
