// The rules of the plan tree and the budget lines, over the PlanStorage interface (no gRPC,
// protobuf or database types; tests/finance/plans_domain_test.cc runs it without a server):
//   - a name is taken once (ALREADY_EXISTS); a parent must exist and be of the right kind
//     (NOT_FOUND naming the kind);
//   - only schemes carry targets; a programme's or a plan's targets are derived on every read
//     as the exact (checked) sum over its schemes, where a closed scheme contributes what it
//     delivered (its ACTUAL totals) instead of its target, as the report rolls it up;
//   - a closed scheme refuses edits (FAILED_PRECONDITION, STATE); closing is idempotent;
//   - a conditional change names the version it read (ABORTED, ETAG_MISMATCH, otherwise);
//   - at most kMaxSchemesPerPlan schemes per plan and kMaxBudgetLines budget lines (limits.h).
// Input shape (ids, lengths, scopes, amounts' bounds) is checked at the API edge before this.
#ifndef DORSET_SERVICES_FINANCE_DOMAIN_PLANS_H_
#define DORSET_SERVICES_FINANCE_DOMAIN_PLANS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/finance/domain/plan_records.h"
#include "services/finance/domain/plan_storage.h"

namespace dorset::finance {

class Plans {
 public:
  explicit Plans(PlanStorage& storage) : storage_(storage) {}

  // A node of `kind` with its (derived) targets; NOT_FOUND naming the kind otherwise.
  absl::StatusOr<NodeRecord> Get(const std::string& name, NodeKind kind);

  absl::StatusOr<NodeRecord> CreatePlan(const std::string& name, const std::string& display_name);
  // Under the plan `plan`.
  absl::StatusOr<NodeRecord> CreateProgramme(const std::string& plan, const std::string& name,
                                             const std::string& display_name);
  // Under the programme `programme`, with its own targets and attributes.
  absl::StatusOr<NodeRecord> CreateScheme(const std::string& programme, const std::string& name,
                                          const std::string& display_name, const std::string& scope,
                                          const YearAmounts& targets,
                                          const SchemeAttributes& attributes = {});

  // Pages of nodes in name order (`window.limit` rows after `window.after`), with targets.
  absl::StatusOr<std::vector<NodeRecord>> ListPlans(const RowWindow& window);
  absl::StatusOr<std::vector<NodeRecord>> ListProgrammes(const std::string& plan,
                                                         const RowWindow& window);
  // `parent` is a programme or a whole plan.
  absl::StatusOr<std::vector<NodeRecord>> ListSchemes(const std::string& parent,
                                                      const RowWindow& window);

  // `expected_version`, when set, must be the scheme's current version.
  absl::StatusOr<NodeRecord> UpdateScheme(const std::string& name,
                                          std::optional<int64_t> expected_version,
                                          const SchemeEdit& edit);
  absl::StatusOr<NodeRecord> CloseScheme(const std::string& name,
                                         std::optional<int64_t> expected_version);

  absl::StatusOr<BudgetLineRecord> CreateBudgetLine(const BudgetLineRecord& line);
  absl::StatusOr<BudgetLineRecord> GetBudgetLine(const std::string& name);
  absl::StatusOr<std::vector<BudgetLineRecord>> ListBudgetLines(std::optional<int> year,
                                                                const RowWindow& window);
  absl::StatusOr<BudgetLineRecord> UpdateBudgetLine(const std::string& name,
                                                    std::optional<int64_t> expected_version,
                                                    const BudgetLineEdit& edit);
  // (scope, amount) of every budget line of `year`, for per-head figures.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> BudgetByScope(int year);

 private:
  PlanStorage& storage_;
};

// A programme's or a plan's targets from its schemes (the rule above), checked.
absl::StatusOr<YearAmounts> RollUpTargets(const std::vector<SchemeContribution>& schemes);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_DOMAIN_PLANS_H_
