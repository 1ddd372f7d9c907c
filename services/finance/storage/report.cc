#include "services/finance/storage/report.h"

#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/finance/calendar.h"
#include "services/finance/money/money.h"
#include "services/finance/storage/schema.h"

namespace dorset::finance {

using runtime::storage::Statement;

namespace {

// Floor division for 128-bit values (C++ truncates toward zero).
__int128 FloorDiv(__int128 a, __int128 b) {
  __int128 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

struct Figures {
  int64_t target = 0;
  int64_t ytd_plan = 0;
  int64_t ytd_actual = 0;
  int64_t forecast_after = 0;  // FORECAST postings for months after the report month
};

// A scheme's forecast-quality inputs at the report month (schemes only).
struct Quality {
  int32_t late_delivery_bp = 0;
  std::optional<int64_t> previous_outturn;  // at month - 1, live
};

// The share of the year's expected delivery (ACTUAL up to `month`, FORECAST after) in
// M10-M12, in basis points (floored, clamped to int32); 0 when the total is not positive.
int32_t LateDeliveryBp(const SchemeYear& sy, int month) {
  __int128 total = 0, late = 0;
  for (int m = 1; m <= 12; ++m) {
    const int64_t expected = m <= month ? sy.monthly[kKindActual][m] : sy.monthly[kKindForecast][m];
    total += expected;
    if (m >= 10) late += expected;
  }
  if (total <= 0) return 0;
  __int128 bp = late * 10000 / total;  // total > 0: floor for late >= 0
  if (late < 0) bp = -((-late * 10000 + total - 1) / total);
  const __int128 lo = std::numeric_limits<int32_t>::min();
  const __int128 hi = std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(bp < lo ? lo : bp > hi ? hi : bp);
}

absl::Status AddInto(Figures& into, const Figures& add) {
  ASSIGN_OR_RETURN(into.target, money::CheckedAdd(into.target, add.target));
  ASSIGN_OR_RETURN(into.ytd_plan, money::CheckedAdd(into.ytd_plan, add.ytd_plan));
  ASSIGN_OR_RETURN(into.ytd_actual, money::CheckedAdd(into.ytd_actual, add.ytd_actual));
  ASSIGN_OR_RETURN(into.forecast_after, money::CheckedAdd(into.forecast_after, add.forecast_after));
  return absl::OkStatus();
}

absl::StatusOr<Figures> SchemeFigures(const SchemeYear& sy, int month) {
  Figures f;
  f.target = sy.target;
  for (int m = 1; m <= 12; ++m) {
    if (m <= month) {
      ASSIGN_OR_RETURN(f.ytd_plan, money::CheckedAdd(f.ytd_plan, sy.monthly[kKindPlan][m]));
      ASSIGN_OR_RETURN(f.ytd_actual, money::CheckedAdd(f.ytd_actual, sy.monthly[kKindActual][m]));
    } else {
      ASSIGN_OR_RETURN(f.forecast_after,
                       money::CheckedAdd(f.forecast_after, sy.monthly[kKindForecast][m]));
    }
  }
  return f;
}

void SetMoney(dorset::common::v1::Money* out, int64_t pence) { out->set_pence(pence); }

}  // namespace

absl::StatusOr<SchemeYear> SettledContribution(const SchemeYear& recorded) {
  SchemeYear settled;
  for (int m = 1; m <= 12; ++m) {
    const int64_t actual = recorded.monthly[kKindActual][m];
    ASSIGN_OR_RETURN(settled.target, money::CheckedAdd(settled.target, actual));
    settled.monthly[kKindPlan][m] = actual;
    settled.monthly[kKindActual][m] = actual;
    settled.monthly[kKindForecast][m] = actual;
  }
  return settled;
}

absl::StatusOr<RagBasisPoints> ResolveThresholds(const v1::RagThresholds& requested) {
  RagBasisPoints out;
  if (requested.green_min_bp() != 0) out.green = requested.green_min_bp();
  if (requested.amber_min_bp() != 0) out.amber = requested.amber_min_bp();
  if (out.green < 0 || out.green > 1000000) {
    return runtime::InvalidArgument("thresholds.green_min_bp", "0..1000000 basis points");
  }
  if (out.amber < 0 || out.amber > out.green) {
    return runtime::InvalidArgument("thresholds.amber_min_bp",
                                    "0..green_min_bp basis points (amber cannot exceed green)");
  }
  return out;
}

v1::Rag RateDelivery(int64_t ytd_plan, int64_t ytd_actual, const RagBasisPoints& thresholds,
                     int32_t* delivery_bp) {
  if (ytd_plan == 0) {
    *delivery_bp = 0;
    return v1::RAG_NO_PLAN;
  }
  // floor(actual / plan * 10000) compared with whole basis points is exact: ratio >= g/10000
  // holds exactly when floor(ratio * 10000) >= g for an integer g.
  const __int128 bp = FloorDiv(static_cast<__int128>(ytd_actual) * 10000, ytd_plan);
  const __int128 lo = std::numeric_limits<int32_t>::min();
  const __int128 hi = std::numeric_limits<int32_t>::max();
  *delivery_bp = static_cast<int32_t>(bp < lo ? lo : bp > hi ? hi : bp);
  if (bp >= thresholds.green) return v1::RAG_GREEN;
  if (bp >= thresholds.amber) return v1::RAG_AMBER;
  return v1::RAG_RED;
}

void RerateReport(v1::Report& report, const RagBasisPoints& thresholds) {
  report.mutable_thresholds()->set_green_min_bp(thresholds.green);
  report.mutable_thresholds()->set_amber_min_bp(thresholds.amber);
  for (v1::ReportLine& line : *report.mutable_lines()) {
    int32_t bp = 0;
    line.set_rag(RateDelivery(line.ytd_plan().pence(), line.ytd_actual().pence(), thresholds, &bp));
    line.set_delivery_bp(bp);
  }
}

absl::StatusOr<PlanData> LoadPlanData(FinanceStore& store, const std::string& plan,
                                      std::optional<int> year) {
  return store.Read(
      [&](Transaction& tx) -> absl::StatusOr<PlanData> { return LoadPlanDataIn(tx, plan, year); });
}

absl::StatusOr<PlanData> LoadPlanDataIn(Transaction& tx, const std::string& plan,
                                        std::optional<int> year) {
  {
    PlanData data;
    ASSIGN_OR_RETURN(Statement find, tx.Prepare("SELECT id, display_name FROM node WHERE name = ? "
                                                "AND kind = 1"));
    find.Bind(1, plan);
    ASSIGN_OR_RETURN(bool found, find.Step());
    if (!found) return runtime::NotFound("Plan", plan);
    const int64_t plan_id = find.Int(0);
    PlanNode root;
    root.id = plan_id;
    root.name = plan;
    root.kind = kNodePlan;
    root.display_name = find.Text(1);
    data.nodes.push_back(std::move(root));

    ASSIGN_OR_RETURN(Statement nodes,
                     tx.Prepare("SELECT id, name, kind, parent_id, display_name, state, scope, "
                                "recurrence, maturity, senior_responsible_owner FROM node WHERE "
                                "plan_id = ? ORDER BY name"));
    nodes.Bind(1, plan_id);
    std::map<int64_t, std::vector<PlanNode>> children;  // by parent id, each list by name
    while (true) {
      ASSIGN_OR_RETURN(bool row, nodes.Step());
      if (!row) break;
      PlanNode node;
      node.id = nodes.Int(0);
      node.name = nodes.Text(1);
      node.kind = static_cast<int>(nodes.Int(2));
      node.parent_id = nodes.Int(3);
      node.display_name = nodes.Text(4);
      node.closed = nodes.Int(5) == kSchemeClosed;
      node.scope = nodes.Text(6);
      node.recurrence = static_cast<int>(nodes.Int(7));
      node.maturity = static_cast<int>(nodes.Int(8));
      node.senior_responsible_owner = nodes.Text(9);
      children[node.parent_id].push_back(std::move(node));
    }
    // Depth-first: each programme followed by its schemes.
    for (const PlanNode& programme : children[plan_id]) {
      data.nodes.push_back(programme);
      for (const PlanNode& scheme : children[programme.id]) data.nodes.push_back(scheme);
    }
    const std::optional<int64_t> y = year;
    ASSIGN_OR_RETURN(
        Statement targets,
        tx.Prepare("SELECT t.scheme_id, t.year, t.amount_pence FROM target t JOIN node "
                   "n ON n.id = t.scheme_id WHERE n.plan_id = ? AND (CAST(? AS BIGINT) IS NULL OR "
                   "t.year = ?)"));
    targets.Bind(1, plan_id).Bind(2, y).Bind(3, y);
    while (true) {
      ASSIGN_OR_RETURN(bool row, targets.Step());
      if (!row) break;
      data.figures[targets.Int(0)][static_cast<int>(targets.Int(1))].target = targets.Int(2);
    }
    ASSIGN_OR_RETURN(Statement totals,
                     tx.Prepare("SELECT t.scheme_id, t.year, t.month, t.kind, t.amount_pence FROM "
                                "total t JOIN node n ON n.id = t.scheme_id WHERE n.plan_id = ? AND "
                                "(CAST(? AS BIGINT) IS NULL OR t.year = ?)"));
    totals.Bind(1, plan_id).Bind(2, y).Bind(3, y);
    while (true) {
      ASSIGN_OR_RETURN(bool row, totals.Step());
      if (!row) break;
      const int month = static_cast<int>(totals.Int(2));
      const int kind = static_cast<int>(totals.Int(3));
      if (month < 1 || month > 12 || kind < 1 || kind > 3) continue;  // CHECK constraints forbid
      data.figures[totals.Int(0)][static_cast<int>(totals.Int(1))].monthly[kind][month] =
          totals.Int(4);
    }
    return data;
  }
}

absl::StatusOr<v1::Report> BuildReport(const PlanData& data, int year, int month,
                                       const RagBasisPoints& thresholds) {
  // Schemes first, then add each node's figures into its parent. Nodes are depth-first, so
  // walking them backwards visits every child before its parent.
  // `figures` are each line's own figures; `contribution` is what a node adds to its parent
  // (the same, except for a closed scheme, which is settled at what it delivered).
  absl::flat_hash_map<int64_t, Figures> figures;
  absl::flat_hash_map<int64_t, Figures> contribution;
  absl::flat_hash_map<int64_t, Quality> quality;
  for (const PlanNode& node : data.nodes) {
    Figures f;
    Figures c;
    if (node.kind == kNodeScheme) {
      Quality& q = quality[node.id];
      if (month > 1) q.previous_outturn = 0;
      auto scheme = data.figures.find(node.id);
      if (scheme != data.figures.end()) {
        auto for_year = scheme->second.find(year);
        if (for_year != scheme->second.end()) {
          ASSIGN_OR_RETURN(f, SchemeFigures(for_year->second, month));
          q.late_delivery_bp = LateDeliveryBp(for_year->second, month);
          if (month > 1) {
            ASSIGN_OR_RETURN(Figures before, SchemeFigures(for_year->second, month - 1));
            ASSIGN_OR_RETURN(q.previous_outturn,
                             money::CheckedAdd(before.ytd_actual, before.forecast_after));
          }
          c = f;
          if (node.closed) {
            ASSIGN_OR_RETURN(SchemeYear settled, SettledContribution(for_year->second));
            ASSIGN_OR_RETURN(c, SchemeFigures(settled, month));
          }
        }
      }
    }
    figures[node.id] = f;
    contribution[node.id] = c;
  }
  for (auto it = data.nodes.rbegin(); it != data.nodes.rend(); ++it) {
    if (it->kind == kNodePlan) continue;
    auto parent = figures.find(it->parent_id);
    if (parent == figures.end()) return runtime::Internal("report: a node's parent is missing");
    // A programme's own figures are also what it adds to the plan.
    const Figures& add = it->kind == kNodeScheme ? contribution[it->id] : figures[it->id];
    absl::Status added = AddInto(parent->second, add);
    if (!added.ok()) {
      return absl::OutOfRangeError(absl::StrCat("report: the figures of ", it->name,
                                                " do not fit in 64-bit pence when rolled up"));
    }
  }

  v1::Report report;
  report.set_plan(data.nodes.front().name);
  report.set_name(absl::StrCat(data.nodes.front().name, "/report"));
  report.set_financial_year(FormatFinancialYear(year));
  report.set_month(month);
  report.mutable_thresholds()->set_green_min_bp(thresholds.green);
  report.mutable_thresholds()->set_amber_min_bp(thresholds.amber);
  for (const PlanNode& node : data.nodes) {
    const Figures& f = figures[node.id];
    v1::ReportLine* line = report.add_lines();
    line->set_node(node.name);
    line->set_kind(static_cast<v1::NodeKind>(node.kind));
    line->set_display_name(node.display_name);
    line->set_depth(node.kind - 1);
    line->set_closed(node.closed);
    SetMoney(line->mutable_annual_target(), f.target);
    SetMoney(line->mutable_ytd_plan(), f.ytd_plan);
    SetMoney(line->mutable_ytd_actual(), f.ytd_actual);
    absl::StatusOr<int64_t> variance = money::CheckedSub(f.ytd_actual, f.ytd_plan);
    absl::StatusOr<int64_t> outturn = money::CheckedAdd(f.ytd_actual, f.forecast_after);
    if (!variance.ok() || !outturn.ok()) {
      return absl::OutOfRangeError(absl::StrCat("report: figures of ", node.name, " overflow"));
    }
    absl::StatusOr<int64_t> outturn_variance = money::CheckedSub(*outturn, f.target);
    if (!outturn_variance.ok()) {
      return absl::OutOfRangeError(absl::StrCat("report: figures of ", node.name, " overflow"));
    }
    SetMoney(line->mutable_ytd_variance(), *variance);
    SetMoney(line->mutable_forecast_outturn(), *outturn);
    SetMoney(line->mutable_outturn_variance(), *outturn_variance);
    int32_t bp = 0;
    line->set_rag(RateDelivery(f.ytd_plan, f.ytd_actual, thresholds, &bp));
    line->set_delivery_bp(bp);
    if (node.kind == kNodeScheme) {
      line->set_recurrence(static_cast<v1::SavingRecurrence>(node.recurrence));
      line->set_maturity(static_cast<v1::SchemeMaturity>(node.maturity));
      line->set_senior_responsible_owner(node.senior_responsible_owner);
      const Quality& q = quality[node.id];
      line->set_late_delivery_bp(q.late_delivery_bp);
      if (q.previous_outturn)
        SetMoney(line->mutable_previous_forecast_outturn(), *q.previous_outturn);
    }
  }
  return report;
}

std::string GroupKey(v1::SchemeGrouping group_by, int recurrence, int maturity,
                     const std::string& senior_responsible_owner) {
  // The enum value's name without its prefix; "" for UNSPECIFIED or an unknown number.
  auto strip = [](const std::string& name, std::string_view prefix) -> std::string {
    if (name.empty() || name.ends_with("_UNSPECIFIED")) return "";
    return name.substr(prefix.size());
  };
  switch (group_by) {
    case v1::SCHEME_GROUPING_RECURRENCE:
      return strip(v1::SavingRecurrence_Name(recurrence), "SAVING_RECURRENCE_");
    case v1::SCHEME_GROUPING_MATURITY:
      return strip(v1::SchemeMaturity_Name(maturity), "SCHEME_MATURITY_");
    case v1::SCHEME_GROUPING_SENIOR_RESPONSIBLE_OWNER:
      return senior_responsible_owner;
    default:
      return "";
  }
}

}  // namespace dorset::finance
