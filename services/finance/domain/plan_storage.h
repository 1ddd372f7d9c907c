// The storage the plan domain stands on, as an interface: what one transaction can read and
// write of the plan tree and the budget lines. The SQL behind it is in
// services/finance/storage/plan_rows (either engine); the domain (plans.h) never sees a
// database type.
#ifndef DORSET_SERVICES_FINANCE_DOMAIN_PLAN_STORAGE_H_
#define DORSET_SERVICES_FINANCE_DOMAIN_PLAN_STORAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/finance/domain/plan_records.h"

namespace dorset::finance {

// The plan rows within one transaction.
class PlanRows {
 public:
  virtual ~PlanRows() = default;

  // The node of that name (any kind), or nullopt. `targets` is filled for schemes.
  virtual absl::StatusOr<std::optional<NodeRecord>> FindNode(const std::string& name) = 0;
  // Inserts; ALREADY_EXISTS (unqualified) when the name is taken. Returns the new id.
  virtual absl::StatusOr<int64_t> InsertNode(const NewNode& node) = 0;
  // Sets display name, scope and (schemes) attributes, bumps the version and the update time.
  virtual absl::Status UpdateNode(int64_t id, const std::string& display_name,
                                  const std::string& scope, const SchemeAttributes& attributes,
                                  int64_t now_micros) = 0;
  // Marks a scheme closed, bumps the version and the update time.
  virtual absl::Status CloseScheme(int64_t id, int64_t now_micros) = 0;
  // Replaces a scheme's targets.
  virtual absl::Status ReplaceTargets(int64_t scheme_id, const YearAmounts& targets) = 0;
  // Every scheme under a programme or plan (its id and kind say which).
  virtual absl::StatusOr<std::vector<SchemeContribution>> SchemesUnder(int64_t node_id,
                                                                       NodeKind kind) = 0;
  virtual absl::StatusOr<int64_t> CountSchemesOfPlan(int64_t plan_id) = 0;
  // Nodes of `set` (`parent_id` the plan or programme; ignored for kPlans) in `window`.
  virtual absl::StatusOr<std::vector<NodeRecord>> ListNodes(NodeSet set, int64_t parent_id,
                                                            const RowWindow& window) = 0;

  virtual absl::StatusOr<std::optional<BudgetLineRecord>> FindBudgetLine(
      const std::string& name) = 0;
  // ALREADY_EXISTS (unqualified) when the name is taken.
  virtual absl::Status InsertBudgetLine(const BudgetLineRecord& line) = 0;
  // Writes the line's fields, bumps the version and sets the update time.
  virtual absl::Status UpdateBudgetLine(const BudgetLineRecord& line, int64_t now_micros) = 0;
  virtual absl::StatusOr<int64_t> CountBudgetLines() = 0;
  // Lines (of `year` when set) in name order, in `window`.
  virtual absl::StatusOr<std::vector<BudgetLineRecord>> ListBudgetLines(
      std::optional<int> year, const RowWindow& window) = 0;
  // (scope, amount) of every line of `year`.
  virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> BudgetByScope(int year) = 0;
};

// Runs domain functions in transactions.
class PlanStorage {
 public:
  virtual ~PlanStorage() = default;
  // A write transaction, committed when `fn` returns OK; on a serialization failure `fn` runs
  // again from the start, so it must touch only the rows and its own locals.
  virtual absl::Status Write(absl::FunctionRef<absl::Status(PlanRows&)> fn) = 0;
  // A read-only transaction (one snapshot).
  virtual absl::Status Read(absl::FunctionRef<absl::Status(PlanRows&)> fn) = 0;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_DOMAIN_PLAN_STORAGE_H_
