// The API edge of the plan tree and the budget lines: checks the shape of each request (ids,
// display names, scopes, targets and their bounds, update masks, etags; INVALID_ARGUMENT naming
// the field), maps the proto messages to the domain's records and back, and turns keyset page
// tokens into row windows. The rules themselves are the domain's (domain/plans.h); the SQL is
// the storage's (storage/plan_rows.h).
#ifndef DORSET_SERVICES_FINANCE_API_PLAN_API_H_
#define DORSET_SERVICES_FINANCE_API_PLAN_API_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "runtime/api/page_token.h"
#include "services/finance/domain/plans.h"

namespace dorset::finance {

class PlanApi {
 public:
  PlanApi(PlanStorage& storage, runtime::PageTokenCodec codec)
      : plans_(storage), codec_(std::move(codec)) {}

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

  // The domain, for callers inside the service (per-head figures read the budget by scope).
  Plans& plans() { return plans_; }

 private:
  Plans plans_;
  const runtime::PageTokenCodec codec_;
};

// Checks a resource id chosen by the client: [a-z][a-z0-9-]{0,62}.
absl::Status CheckResourceId(const std::string& id, std::string_view field);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_API_PLAN_API_H_
