#include "services/finance/domain/plans.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/finance/limits.h"
#include "services/finance/money/money.h"

namespace dorset::finance {
namespace {

std::string_view KindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kPlan:
      return "Plan";
    case NodeKind::kProgramme:
      return "Programme";
    case NodeKind::kScheme:
      return "Scheme";
  }
  return "Node";
}

// Wall-clock now in microseconds (what the store keeps for times).
int64_t Now() { return absl::ToUnixMicros(absl::Now()); }

// The node of `name` of `kind`, NOT_FOUND otherwise (a node of another kind is not found).
absl::StatusOr<NodeRecord> Find(PlanRows& rows, const std::string& name, NodeKind kind) {
  ASSIGN_OR_RETURN(std::optional<NodeRecord> node, rows.FindNode(name));
  if (!node || node->kind != kind) return runtime::NotFound(KindName(kind), name);
  return *std::move(node);
}

// A plan's or programme's targets are derived; a scheme's are its own.
absl::Status Derive(PlanRows& rows, NodeRecord& node) {
  if (node.kind == NodeKind::kScheme) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<SchemeContribution> schemes, rows.SchemesUnder(node.id, node.kind));
  ASSIGN_OR_RETURN(node.targets, RollUpTargets(schemes));
  return absl::OkStatus();
}

absl::StatusOr<NodeRecord> FindDerived(PlanRows& rows, const std::string& name, NodeKind kind) {
  ASSIGN_OR_RETURN(NodeRecord node, Find(rows, name, kind));
  RETURN_IF_ERROR(Derive(rows, node));
  return node;
}

absl::Status CheckVersion(std::optional<int64_t> expected, int64_t current, std::string_view type,
                          const std::string& name) {
  if (expected && *expected != current) return runtime::EtagMismatch(type, name);
  return absl::OkStatus();
}

NewNode MakeNode(std::string name, NodeKind kind, std::optional<int64_t> plan_id,
                 std::optional<int64_t> parent_id, std::string display_name, std::string scope,
                 SchemeAttributes attributes = {}) {
  NewNode node;
  node.attributes = std::move(attributes);
  node.name = std::move(name);
  node.kind = kind;
  node.plan_id = plan_id;
  node.parent_id = parent_id;
  node.display_name = std::move(display_name);
  node.scope = std::move(scope);
  node.now_micros = Now();
  return node;
}

// The insert's ALREADY_EXISTS, named.
absl::StatusOr<int64_t> Insert(PlanRows& rows, const NewNode& node) {
  absl::StatusOr<int64_t> id = rows.InsertNode(node);
  if (absl::IsAlreadyExists(id.status()))
    return runtime::AlreadyExists(KindName(node.kind), node.name);
  return id;
}

absl::StatusOr<std::vector<NodeRecord>> ListDerived(PlanRows& rows, NodeSet set, int64_t parent,
                                                    const RowWindow& window) {
  ASSIGN_OR_RETURN(std::vector<NodeRecord> nodes, rows.ListNodes(set, parent, window));
  for (NodeRecord& node : nodes) RETURN_IF_ERROR(Derive(rows, node));
  return nodes;
}

}  // namespace

absl::StatusOr<YearAmounts> RollUpTargets(const std::vector<SchemeContribution>& schemes) {
  YearAmounts sum;
  for (const SchemeContribution& scheme : schemes) {
    for (const auto& [year, pence] : scheme.closed ? scheme.actuals : scheme.targets) {
      int64_t& total = sum[year];
      ASSIGN_OR_RETURN(total, money::CheckedAdd(total, pence));
    }
  }
  return sum;
}

absl::StatusOr<NodeRecord> Plans::Get(const std::string& name, NodeKind kind) {
  NodeRecord out;
  RETURN_IF_ERROR(storage_.Read([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(out, FindDerived(rows, name, kind));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<NodeRecord> Plans::CreatePlan(const std::string& name,
                                             const std::string& display_name) {
  NodeRecord out;
  RETURN_IF_ERROR(storage_.Write([&](PlanRows& rows) -> absl::Status {
    RETURN_IF_ERROR(
        Insert(rows, MakeNode(name, NodeKind::kPlan, std::nullopt, std::nullopt, display_name, ""))
            .status());
    ASSIGN_OR_RETURN(out, FindDerived(rows, name, NodeKind::kPlan));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<NodeRecord> Plans::CreateProgramme(const std::string& plan, const std::string& name,
                                                  const std::string& display_name) {
  NodeRecord out;
  RETURN_IF_ERROR(storage_.Write([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(NodeRecord parent, Find(rows, plan, NodeKind::kPlan));
    RETURN_IF_ERROR(
        Insert(rows, MakeNode(name, NodeKind::kProgramme, parent.id, parent.id, display_name, ""))
            .status());
    ASSIGN_OR_RETURN(out, FindDerived(rows, name, NodeKind::kProgramme));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<NodeRecord> Plans::CreateScheme(const std::string& programme,
                                               const std::string& name,
                                               const std::string& display_name,
                                               const std::string& scope, const YearAmounts& targets,
                                               const SchemeAttributes& attributes) {
  NodeRecord out;
  RETURN_IF_ERROR(storage_.Write([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(NodeRecord parent, Find(rows, programme, NodeKind::kProgramme));
    ASSIGN_OR_RETURN(int64_t schemes, rows.CountSchemesOfPlan(parent.plan_id));
    if (schemes >= kMaxSchemesPerPlan) {
      return AmountLimitExceeded("scheme_id",
                                 absl::StrCat("at most ", kMaxSchemesPerPlan,
                                              " schemes in one plan (the bound that keeps "
                                              "roll-ups exact)"));
    }
    ASSIGN_OR_RETURN(int64_t id,
                     Insert(rows, MakeNode(name, NodeKind::kScheme, parent.plan_id, parent.id,
                                           display_name, scope, attributes)));
    RETURN_IF_ERROR(rows.ReplaceTargets(id, targets));
    ASSIGN_OR_RETURN(out, Find(rows, name, NodeKind::kScheme));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<NodeRecord>> Plans::ListPlans(const RowWindow& window) {
  std::vector<NodeRecord> out;
  RETURN_IF_ERROR(storage_.Read([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(out, ListDerived(rows, NodeSet::kPlans, 0, window));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<NodeRecord>> Plans::ListProgrammes(const std::string& plan,
                                                              const RowWindow& window) {
  std::vector<NodeRecord> out;
  RETURN_IF_ERROR(storage_.Read([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(NodeRecord parent, Find(rows, plan, NodeKind::kPlan));
    ASSIGN_OR_RETURN(out, ListDerived(rows, NodeSet::kProgrammesOfPlan, parent.id, window));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<NodeRecord>> Plans::ListSchemes(const std::string& parent,
                                                           const RowWindow& window) {
  std::vector<NodeRecord> out;
  RETURN_IF_ERROR(storage_.Read([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<NodeRecord> node, rows.FindNode(parent));
    NodeSet set;
    if (node && node->kind == NodeKind::kProgramme) {
      set = NodeSet::kSchemesOfProgramme;
    } else if (node && node->kind == NodeKind::kPlan) {
      set = NodeSet::kSchemesOfPlan;
    } else {
      return runtime::NotFound("Programme", parent);
    }
    ASSIGN_OR_RETURN(out, rows.ListNodes(set, node->id, window));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<NodeRecord> Plans::UpdateScheme(const std::string& name,
                                               std::optional<int64_t> expected_version,
                                               const SchemeEdit& edit) {
  NodeRecord out;
  RETURN_IF_ERROR(storage_.Write([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(NodeRecord scheme, Find(rows, name, NodeKind::kScheme));
    RETURN_IF_ERROR(CheckVersion(expected_version, scheme.version, "Scheme", name));
    if (scheme.closed) return runtime::FailedPrecondition("STATE", name, "the scheme is closed");
    SchemeAttributes attributes = scheme.attributes;
    if (edit.recurrence) attributes.recurrence = *edit.recurrence;
    if (edit.maturity) attributes.maturity = *edit.maturity;
    if (edit.senior_responsible_owner) {
      attributes.senior_responsible_owner = *edit.senior_responsible_owner;
    }
    RETURN_IF_ERROR(rows.UpdateNode(scheme.id, edit.display_name.value_or(scheme.display_name),
                                    edit.scope.value_or(scheme.scope), attributes, Now()));
    if (edit.targets) RETURN_IF_ERROR(rows.ReplaceTargets(scheme.id, *edit.targets));
    ASSIGN_OR_RETURN(out, Find(rows, name, NodeKind::kScheme));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<NodeRecord> Plans::CloseScheme(const std::string& name,
                                              std::optional<int64_t> expected_version) {
  NodeRecord out;
  RETURN_IF_ERROR(storage_.Write([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(NodeRecord scheme, Find(rows, name, NodeKind::kScheme));
    RETURN_IF_ERROR(CheckVersion(expected_version, scheme.version, "Scheme", name));
    if (!scheme.closed) RETURN_IF_ERROR(rows.CloseScheme(scheme.id, Now()));
    ASSIGN_OR_RETURN(out, Find(rows, name, NodeKind::kScheme));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<BudgetLineRecord> Plans::CreateBudgetLine(const BudgetLineRecord& line) {
  BudgetLineRecord out;
  RETURN_IF_ERROR(storage_.Write([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(int64_t count, rows.CountBudgetLines());
    if (count >= kMaxBudgetLines) {
      return AmountLimitExceeded("budget_line_id",
                                 absl::StrCat("at most ", kMaxBudgetLines,
                                              " budget lines (the bound that keeps roll-ups "
                                              "exact)"));
    }
    BudgetLineRecord row = line;
    row.create_micros = row.update_micros = Now();
    absl::Status inserted = rows.InsertBudgetLine(row);
    if (absl::IsAlreadyExists(inserted)) return runtime::AlreadyExists("BudgetLine", line.name);
    RETURN_IF_ERROR(inserted);
    ASSIGN_OR_RETURN(std::optional<BudgetLineRecord> stored, rows.FindBudgetLine(line.name));
    if (!stored) return absl::InternalError("a budget line just inserted is missing");
    out = *std::move(stored);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<BudgetLineRecord> Plans::GetBudgetLine(const std::string& name) {
  BudgetLineRecord out;
  RETURN_IF_ERROR(storage_.Read([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<BudgetLineRecord> line, rows.FindBudgetLine(name));
    if (!line) return runtime::NotFound("BudgetLine", name);
    out = *std::move(line);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<BudgetLineRecord>> Plans::ListBudgetLines(std::optional<int> year,
                                                                     const RowWindow& window) {
  std::vector<BudgetLineRecord> out;
  RETURN_IF_ERROR(storage_.Read([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(out, rows.ListBudgetLines(year, window));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<BudgetLineRecord> Plans::UpdateBudgetLine(const std::string& name,
                                                         std::optional<int64_t> expected_version,
                                                         const BudgetLineEdit& edit) {
  BudgetLineRecord out;
  RETURN_IF_ERROR(storage_.Write([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<BudgetLineRecord> line, rows.FindBudgetLine(name));
    if (!line) return runtime::NotFound("BudgetLine", name);
    RETURN_IF_ERROR(CheckVersion(expected_version, line->version, "BudgetLine", name));
    if (edit.display_name) line->display_name = *edit.display_name;
    if (edit.amount) line->amount = *edit.amount;
    if (edit.scope) line->scope = *edit.scope;
    if (edit.illustrative) line->illustrative = *edit.illustrative;
    RETURN_IF_ERROR(rows.UpdateBudgetLine(*line, Now()));
    ASSIGN_OR_RETURN(line, rows.FindBudgetLine(name));
    if (!line) return absl::InternalError("a budget line just updated is missing");
    out = *std::move(line);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Plans::BudgetByScope(int year) {
  std::vector<std::pair<std::string, int64_t>> out;
  RETURN_IF_ERROR(storage_.Read([&](PlanRows& rows) -> absl::Status {
    ASSIGN_OR_RETURN(out, rows.BudgetByScope(year));
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace dorset::finance
