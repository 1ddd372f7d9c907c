#include "services/finance/storage/plan_rows.h"

#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "services/finance/money/money.h"
#include "services/finance/storage/schema.h"

namespace dorset::finance {
namespace {

using runtime::storage::Statement;

constexpr char kNodeColumns[] =
    "id, name, kind, COALESCE(plan_id, id), display_name, state, scope, version, create_micros, "
    "update_micros, recurrence, maturity, senior_responsible_owner";

NodeRecord ReadNode(const Statement& stmt) {
  NodeRecord row;
  row.id = stmt.Int(0);
  row.name = stmt.Text(1);
  row.kind = static_cast<NodeKind>(stmt.Int(2));
  row.plan_id = stmt.Int(3);
  row.display_name = stmt.Text(4);
  row.closed = stmt.Int(5) == kSchemeClosed;
  row.scope = stmt.Text(6);
  row.version = stmt.Int(7);
  row.create_micros = stmt.Int(8);
  row.update_micros = stmt.Int(9);
  row.attributes.recurrence = static_cast<Recurrence>(stmt.Int(10));
  row.attributes.maturity = static_cast<Maturity>(stmt.Int(11));
  row.attributes.senior_responsible_owner = stmt.Text(12);
  return row;
}

constexpr char kBudgetColumns[] =
    "name, display_name, year, amount_pence, scope, illustrative, version, create_micros, "
    "update_micros";

BudgetLineRecord ReadBudgetLine(const Statement& stmt) {
  BudgetLineRecord line;
  line.name = stmt.Text(0);
  line.display_name = stmt.Text(1);
  line.year = static_cast<int>(stmt.Int(2));
  line.amount = stmt.Int(3);
  line.scope = stmt.Text(4);
  line.illustrative = stmt.Int(5) != 0;
  line.version = stmt.Int(6);
  line.create_micros = stmt.Int(7);
  line.update_micros = stmt.Int(8);
  return line;
}

// (year, pence) rows of `stmt` into a map (one row per year).
absl::StatusOr<YearAmounts> ReadYearAmounts(Statement& stmt) {
  YearAmounts out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out[static_cast<int>(stmt.Int(0))] = stmt.Int(1);
  }
  return out;
}

class SqlPlanRows final : public PlanRows {
 public:
  explicit SqlPlanRows(Transaction& tx) : tx_(tx) {}

  absl::StatusOr<std::optional<NodeRecord>> FindNode(const std::string& name) override {
    ASSIGN_OR_RETURN(Statement stmt, tx_.Prepare(absl::StrCat("SELECT ", kNodeColumns,
                                                              " FROM node WHERE name = ?")));
    stmt.Bind(1, name);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<NodeRecord>();
    NodeRecord node = ReadNode(stmt);
    if (node.kind == NodeKind::kScheme) RETURN_IF_ERROR(FillTargets(node));
    return std::optional<NodeRecord>(std::move(node));
  }

  absl::StatusOr<int64_t> InsertNode(const NewNode& node) override {
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx_.Prepare("INSERT INTO node(name, kind, plan_id, parent_id, display_name, scope, "
                    "create_micros, update_micros, recurrence, maturity, "
                    "senior_responsible_owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "RETURNING id"));
    stmt.Bind(1, node.name).Bind(2, static_cast<int>(node.kind)).Bind(3, node.plan_id);
    stmt.Bind(4, node.parent_id).Bind(5, node.display_name).Bind(6, node.scope);
    stmt.Bind(7, node.now_micros).Bind(8, node.now_micros);
    stmt.Bind(9, static_cast<int>(node.attributes.recurrence));
    stmt.Bind(10, static_cast<int>(node.attributes.maturity));
    stmt.Bind(11, node.attributes.senior_responsible_owner);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::InternalError("INSERT ... RETURNING gave no row");
    return stmt.Int(0);
  }

  absl::Status UpdateNode(int64_t id, const std::string& display_name, const std::string& scope,
                          const SchemeAttributes& attributes, int64_t now_micros) override {
    ASSIGN_OR_RETURN(Statement stmt,
                     tx_.Prepare("UPDATE node SET display_name = ?, scope = ?, recurrence = ?, "
                                 "maturity = ?, senior_responsible_owner = ?, version = version "
                                 "+ 1, update_micros = ? WHERE id = ?"));
    stmt.Bind(1, display_name).Bind(2, scope);
    stmt.Bind(3, static_cast<int>(attributes.recurrence));
    stmt.Bind(4, static_cast<int>(attributes.maturity));
    stmt.Bind(5, attributes.senior_responsible_owner).Bind(6, now_micros).Bind(7, id);
    return stmt.Run();
  }

  absl::Status CloseScheme(int64_t id, int64_t now_micros) override {
    ASSIGN_OR_RETURN(Statement stmt, tx_.Prepare("UPDATE node SET state = ?, version = version + "
                                                 "1, update_micros = ? WHERE id = ?"));
    stmt.Bind(1, kSchemeClosed).Bind(2, now_micros).Bind(3, id);
    return stmt.Run();
  }

  absl::Status ReplaceTargets(int64_t scheme_id, const YearAmounts& targets) override {
    ASSIGN_OR_RETURN(Statement del, tx_.Prepare("DELETE FROM target WHERE scheme_id = ?"));
    del.Bind(1, scheme_id);
    RETURN_IF_ERROR(del.Run());
    ASSIGN_OR_RETURN(
        Statement ins,
        tx_.Prepare("INSERT INTO target(scheme_id, year, amount_pence) VALUES (?, ?, ?)"));
    for (const auto& [year, pence] : targets) {
      ins.Reset();
      ins.Bind(1, scheme_id).Bind(2, year).Bind(3, pence);
      RETURN_IF_ERROR(ins.Run());
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<SchemeContribution>> SchemesUnder(int64_t node_id,
                                                               NodeKind kind) override {
    const char* where = kind == NodeKind::kProgramme ? "n.parent_id = ?" : "n.plan_id = ?";
    // One row per (scheme, year): the target while open, else the year's ACTUAL totals summed
    // by the caller; ordered by scheme so rows group.
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx_.Prepare(absl::StrCat(
            "SELECT n.id, n.state, t.year, t.amount_pence, 0 FROM target t JOIN node n ON n.id = "
            "t.scheme_id WHERE ",
            where, " AND n.kind = 3 AND n.state != ", kSchemeClosed,
            " UNION ALL SELECT n.id, n.state, a.year, a.amount_pence, 1 FROM total a JOIN node n "
            "ON n.id = a.scheme_id WHERE ",
            where, " AND n.kind = 3 AND n.state = ", kSchemeClosed, " AND a.kind = ", kKindActual,
            " ORDER BY 1")));
    stmt.Bind(1, node_id).Bind(2, node_id);  // `where` appears twice
    std::vector<SchemeContribution> out;
    int64_t current = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      if (out.empty() || stmt.Int(0) != current) {
        current = stmt.Int(0);
        out.emplace_back();
        out.back().closed = stmt.Int(1) == kSchemeClosed;
      }
      const int year = static_cast<int>(stmt.Int(2));
      if (stmt.Int(4) == 0) {
        out.back().targets[year] = stmt.Int(3);
      } else {
        // A closed scheme's monthly ACTUAL totals: the months of one year, added checked.
        int64_t& sum = out.back().actuals[year];
        ASSIGN_OR_RETURN(sum, money::CheckedAdd(sum, stmt.Int(3)));
      }
    }
    return out;
  }

  absl::StatusOr<int64_t> CountSchemesOfPlan(int64_t plan_id) override {
    ASSIGN_OR_RETURN(Statement stmt,
                     tx_.Prepare("SELECT COUNT(*) FROM node WHERE kind = 3 AND plan_id = ?"));
    stmt.Bind(1, plan_id);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    return row ? stmt.Int(0) : 0;
  }

  absl::StatusOr<std::vector<NodeRecord>> ListNodes(NodeSet set, int64_t parent_id,
                                                    const RowWindow& window) override {
    const char* where = "kind = 1 AND id > ?";  // plans: the bound is 0
    switch (set) {
      case NodeSet::kPlans:
        parent_id = 0;
        break;
      case NodeSet::kProgrammesOfPlan:
        where = "kind = 2 AND parent_id = ?";
        break;
      case NodeSet::kSchemesOfProgramme:
        where = "kind = 3 AND parent_id = ?";
        break;
      case NodeSet::kSchemesOfPlan:
        where = "kind = 3 AND plan_id = ?";
        break;
    }
    ASSIGN_OR_RETURN(Statement stmt,
                     tx_.Prepare(absl::StrCat("SELECT ", kNodeColumns, " FROM node WHERE ", where,
                                              " AND name > ? ORDER BY name LIMIT ?")));
    stmt.Bind(1, parent_id).Bind(2, window.after).Bind(3, window.limit);
    std::vector<NodeRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out.push_back(ReadNode(stmt));
    }
    for (NodeRecord& node : out) {
      if (node.kind == NodeKind::kScheme) RETURN_IF_ERROR(FillTargets(node));
    }
    return out;
  }

  absl::StatusOr<std::optional<BudgetLineRecord>> FindBudgetLine(const std::string& name) override {
    ASSIGN_OR_RETURN(Statement stmt, tx_.Prepare(absl::StrCat("SELECT ", kBudgetColumns,
                                                              " FROM budget_line WHERE name = ?")));
    stmt.Bind(1, name);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<BudgetLineRecord>();
    return std::optional<BudgetLineRecord>(ReadBudgetLine(stmt));
  }

  absl::Status InsertBudgetLine(const BudgetLineRecord& line) override {
    ASSIGN_OR_RETURN(Statement stmt,
                     tx_.Prepare("INSERT INTO budget_line(name, display_name, year, amount_pence, "
                                 "scope, illustrative, create_micros, update_micros) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    stmt.Bind(1, line.name).Bind(2, line.display_name).Bind(3, line.year).Bind(4, line.amount);
    stmt.Bind(5, line.scope).Bind(6, line.illustrative ? 1 : 0).Bind(7, line.create_micros);
    stmt.Bind(8, line.update_micros);
    return stmt.Run();
  }

  absl::Status UpdateBudgetLine(const BudgetLineRecord& line, int64_t now_micros) override {
    ASSIGN_OR_RETURN(Statement stmt,
                     tx_.Prepare("UPDATE budget_line SET display_name = ?, amount_pence = ?, "
                                 "scope = ?, illustrative = ?, version = version + 1, "
                                 "update_micros = ? WHERE name = ?"));
    stmt.Bind(1, line.display_name).Bind(2, line.amount).Bind(3, line.scope);
    stmt.Bind(4, line.illustrative ? 1 : 0).Bind(5, now_micros).Bind(6, line.name);
    return stmt.Run();
  }

  absl::StatusOr<int64_t> CountBudgetLines() override {
    ASSIGN_OR_RETURN(Statement stmt, tx_.Prepare("SELECT COUNT(*) FROM budget_line"));
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    return row ? stmt.Int(0) : 0;
  }

  absl::StatusOr<std::vector<BudgetLineRecord>> ListBudgetLines(std::optional<int> year,
                                                                const RowWindow& window) override {
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx_.Prepare(absl::StrCat("SELECT ", kBudgetColumns,
                                 " FROM budget_line WHERE (CAST(? AS BIGINT) IS NULL OR year = ?) "
                                 "AND name > ? ORDER BY name LIMIT ?")));
    std::optional<int64_t> y = year;
    stmt.Bind(1, y).Bind(2, y).Bind(3, window.after).Bind(4, window.limit);
    std::vector<BudgetLineRecord> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out.push_back(ReadBudgetLine(stmt));
    }
    return out;
  }

  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> BudgetByScope(int year) override {
    ASSIGN_OR_RETURN(Statement stmt,
                     tx_.Prepare("SELECT scope, amount_pence FROM budget_line WHERE year = ?"));
    stmt.Bind(1, year);
    std::vector<std::pair<std::string, int64_t>> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out.emplace_back(stmt.Text(0), stmt.Int(1));
    }
    return out;
  }

 private:
  absl::Status FillTargets(NodeRecord& scheme) {
    ASSIGN_OR_RETURN(Statement stmt,
                     tx_.Prepare("SELECT year, amount_pence FROM target WHERE scheme_id = ?"));
    stmt.Bind(1, scheme.id);
    ASSIGN_OR_RETURN(scheme.targets, ReadYearAmounts(stmt));
    return absl::OkStatus();
  }

  Transaction& tx_;
};

}  // namespace

absl::Status SqlPlanStorage::Write(absl::FunctionRef<absl::Status(PlanRows&)> fn) {
  return store_.Write([&](Transaction& tx) -> absl::Status {
    SqlPlanRows rows(tx);
    return fn(rows);
  });
}

absl::Status SqlPlanStorage::Read(absl::FunctionRef<absl::Status(PlanRows&)> fn) {
  return store_.Read([&](Transaction& tx) -> absl::Status {
    SqlPlanRows rows(tx);
    return fn(rows);
  });
}

}  // namespace dorset::finance
