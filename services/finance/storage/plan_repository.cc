#include "services/finance/storage/plan_repository.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/etag.h"
#include "runtime/storage/keyset_page.h"
#include "services/finance/calendar.h"
#include "services/finance/limits.h"
#include "services/finance/money/money.h"
#include "services/finance/storage/schema.h"
#include "services/finance/time_util.h"

namespace dorset::finance {
namespace {

using runtime::storage::Etag;
using runtime::storage::KeysetPage;
using runtime::storage::Statement;

constexpr size_t kMaxDisplayName = 200;

struct NodeRow {
  int64_t id = 0;
  std::string name;
  int kind = 0;
  int64_t plan_id = 0;
  std::string display_name;
  int state = 0;
  std::string scope;
  int64_t version = 0;
  int64_t create_micros = 0;
  int64_t update_micros = 0;
};

constexpr char kNodeColumns[] =
    "id, name, kind, COALESCE(plan_id, id), display_name, state, scope, version, create_micros, "
    "update_micros";

NodeRow ReadNode(const Statement& stmt) {
  NodeRow row;
  row.id = stmt.Int(0);
  row.name = stmt.Text(1);
  row.kind = static_cast<int>(stmt.Int(2));
  row.plan_id = stmt.Int(3);
  row.display_name = stmt.Text(4);
  row.state = static_cast<int>(stmt.Int(5));
  row.scope = stmt.Text(6);
  row.version = stmt.Int(7);
  row.create_micros = stmt.Int(8);
  row.update_micros = stmt.Int(9);
  return row;
}

std::string_view KindName(int kind) {
  switch (kind) {
    case kNodePlan:
      return "Plan";
    case kNodeProgramme:
      return "Programme";
    default:
      return "Scheme";
  }
}

absl::StatusOr<NodeRow> FindNode(Transaction& tx, const std::string& name, int kind) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare(absl::StrCat("SELECT ", kNodeColumns, " FROM node WHERE name = ?")));
  stmt.Bind(1, name);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound(KindName(kind), name);
  NodeRow node = ReadNode(stmt);
  if (node.kind != kind) return runtime::NotFound(KindName(kind), name);
  return node;
}

// Year -> target for a scheme (as set), or summed over every scheme under a programme or plan:
// an open scheme's targets, and for a closed one what it delivered (its ACTUAL totals), as the
// report rolls it up (report.h SettledContribution).
absl::StatusOr<std::map<int, int64_t>> Targets(Transaction& tx, const NodeRow& node) {
  std::string sql;
  if (node.kind == kNodeScheme) {
    sql = "SELECT t.year, t.amount_pence FROM target t WHERE t.scheme_id = ?";
  } else {
    const char* where = node.kind == kNodeProgramme ? "n.parent_id = ?" : "n.plan_id = ?";
    sql = absl::StrCat(
        "SELECT t.year, t.amount_pence FROM target t JOIN node n ON n.id = t.scheme_id WHERE ",
        where, " AND n.kind = 3 AND n.state != ", kSchemeClosed,
        " UNION ALL SELECT a.year, a.amount_pence FROM total a JOIN node n ON n.id = "
        "a.scheme_id WHERE ",
        where, " AND n.kind = 3 AND n.state = ", kSchemeClosed, " AND a.kind = ", kKindActual);
  }
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
  stmt.Bind(1, node.id);
  if (node.kind != kNodeScheme) stmt.Bind(2, node.id);  // `where` appears twice
  std::map<int, int64_t> targets;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    int64_t& sum = targets[static_cast<int>(stmt.Int(0))];
    ASSIGN_OR_RETURN(sum, money::CheckedAdd(sum, stmt.Int(1)));
  }
  return targets;
}

void FillTargets(const std::map<int, int64_t>& targets,
                 google::protobuf::RepeatedPtrField<v1::YearAmount>* out) {
  out->Clear();
  for (const auto& [year, pence] : targets) {
    v1::YearAmount* item = out->Add();
    item->set_financial_year(FormatFinancialYear(year));
    item->mutable_amount()->set_pence(pence);
  }
}

absl::StatusOr<v1::Plan> PlanFromRow(Transaction& tx, const NodeRow& row) {
  v1::Plan plan;
  plan.set_name(row.name);
  plan.set_display_name(row.display_name);
  ASSIGN_OR_RETURN(auto targets, Targets(tx, row));
  FillTargets(targets, plan.mutable_targets());
  SetTimestamp(plan.mutable_create_time(), row.create_micros);
  return plan;
}

absl::StatusOr<v1::Programme> ProgrammeFromRow(Transaction& tx, const NodeRow& row) {
  v1::Programme programme;
  programme.set_name(row.name);
  programme.set_display_name(row.display_name);
  ASSIGN_OR_RETURN(auto targets, Targets(tx, row));
  FillTargets(targets, programme.mutable_targets());
  SetTimestamp(programme.mutable_create_time(), row.create_micros);
  return programme;
}

absl::StatusOr<v1::Scheme> SchemeFromRow(Transaction& tx, const NodeRow& row) {
  v1::Scheme scheme;
  scheme.set_name(row.name);
  scheme.set_display_name(row.display_name);
  ASSIGN_OR_RETURN(auto targets, Targets(tx, row));
  FillTargets(targets, scheme.mutable_targets());
  scheme.set_state(row.state == kSchemeClosed ? v1::Scheme::STATE_CLOSED : v1::Scheme::STATE_OPEN);
  scheme.set_scope(row.scope);
  scheme.set_etag(Etag(row.version));
  SetTimestamp(scheme.mutable_create_time(), row.create_micros);
  SetTimestamp(scheme.mutable_update_time(), row.update_micros);
  return scheme;
}

absl::Status CheckDisplayName(const std::string& name, std::string_view field) {
  if (name.empty()) return runtime::InvalidArgument(field, "required");
  if (name.size() > kMaxDisplayName)
    return runtime::InvalidArgument(field, "longer than 200 bytes");
  return absl::OkStatus();
}

// Registry names a scope may take: "" (whole system), localities/{id} or clusters/{id}.
absl::Status CheckScope(const std::string& scope, std::string_view field) {
  if (scope.empty()) return absl::OkStatus();
  std::vector<std::string> parts = absl::StrSplit(scope, '/');
  if (parts.size() == 2 && (parts[0] == "localities" || parts[0] == "clusters") &&
      !parts[1].empty() && parts[1].size() <= 63) {
    return absl::OkStatus();
  }
  return runtime::InvalidArgument(field, "a scope is empty, localities/{id} or clusters/{id}");
}

absl::StatusOr<std::map<int, int64_t>> ParseTargets(
    const google::protobuf::RepeatedPtrField<v1::YearAmount>& targets, std::string_view field) {
  std::map<int, int64_t> out;
  for (int i = 0; i < targets.size(); ++i) {
    const std::string path = absl::StrCat(ToAbsl(field), "[", i, "].financial_year");
    ASSIGN_OR_RETURN(int year, ParseFinancialYear(targets[i].financial_year(), path));
    if (!out.emplace(year, targets[i].amount().pence()).second) {
      return runtime::InvalidArgument(path, "a year appears twice");
    }
    RETURN_IF_ERROR(CheckAmountBound(targets[i].amount().pence(), kMaxTargetPence,
                                     absl::StrCat(ToAbsl(field), "[", i, "].amount"),
                                     "an annual target"));
  }
  return out;
}

absl::Status WriteTargets(Transaction& tx, int64_t scheme_id,
                          const std::map<int, int64_t>& targets) {
  ASSIGN_OR_RETURN(Statement del, tx.Prepare("DELETE FROM target WHERE scheme_id = ?"));
  del.Bind(1, scheme_id);
  RETURN_IF_ERROR(del.Run());
  ASSIGN_OR_RETURN(
      Statement ins,
      tx.Prepare("INSERT INTO target(scheme_id, year, amount_pence) VALUES (?, ?, ?)"));
  for (const auto& [year, pence] : targets) {
    ins.Reset();
    ins.Bind(1, scheme_id).Bind(2, year).Bind(3, pence);
    RETURN_IF_ERROR(ins.Run());
  }
  return absl::OkStatus();
}

// The counts limits.h bounds (schemes per plan, budget lines): `count_sql` counts the rows
// for `key`; refuses one more beyond `limit` (the ErrorInfo reason of the amount bounds, since
// the bound exists to keep rolled-up amounts exact).
absl::Status CheckCount(Transaction& tx, const char* count_sql, int64_t key, int64_t limit,
                        std::string_view field, std::string_view what) {
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(count_sql));
  stmt.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (row && stmt.Int(0) >= limit) {
    return AmountLimitExceeded(field, absl::StrCat("at most ", limit, " ", ToAbsl(what),
                                                   " (the bound that keeps roll-ups exact)"));
  }
  return absl::OkStatus();
}

// Inserts a node; ALREADY_EXISTS when the name is taken.
absl::StatusOr<int64_t> InsertNode(Transaction& tx, const std::string& name, int kind,
                                   std::optional<int64_t> plan_id, std::optional<int64_t> parent_id,
                                   const std::string& display_name, const std::string& scope) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      tx.Prepare("INSERT INTO node(name, kind, plan_id, parent_id, display_name, scope, "
                 "create_micros, update_micros) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  const int64_t now = NowMicros();
  stmt.Bind(1, name).Bind(2, kind).Bind(3, plan_id).Bind(4, parent_id).Bind(5, display_name);
  stmt.Bind(6, scope).Bind(7, now).Bind(8, now);
  absl::StatusOr<bool> row = stmt.Step();
  if (absl::IsAlreadyExists(row.status())) return runtime::AlreadyExists(KindName(kind), name);
  RETURN_IF_ERROR(row.status());
  if (!*row) return absl::InternalError("INSERT ... RETURNING gave no row");
  return stmt.Int(0);
}

// Lists nodes matching `where` (one bound id) after the page token's position, by name.
template <typename Item, typename Convert>
absl::Status ListNodes(Transaction& tx, const runtime::PageTokenCodec& codec,
                       std::string_view where, int64_t bound, const std::string& fingerprint,
                       int32_t page_size, const std::string& page_token, Convert convert,
                       google::protobuf::RepeatedPtrField<Item>* items,
                       std::string* next_page_token) {
  ASSIGN_OR_RETURN(KeysetPage page, KeysetPage::Start(codec, fingerprint, page_size, page_token));
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare(absl::StrCat("SELECT ", kNodeColumns, " FROM node WHERE ",
                                           ToAbsl(where), " AND name > ? ORDER BY name LIMIT ?")));
  stmt.Bind(1, bound).Bind(2, page.after()).Bind(3, page.fetch_limit());
  return page.Collect(
      stmt, [&](Statement& row) { return convert(tx, ReadNode(row)); },
      [](const Statement& row) { return row.Text(1); }, *items, next_page_token);
}

absl::Status CheckUpdateMask(const google::protobuf::FieldMask& mask,
                             const std::set<std::string>& allowed) {
  if (mask.paths_size() == 0) return runtime::InvalidArgument("update_mask", "required");
  for (const std::string& path : mask.paths()) {
    if (!allowed.contains(path)) {
      return runtime::InvalidArgument("update_mask", absl::StrCat("cannot update \"", path, "\""));
    }
  }
  return absl::OkStatus();
}

bool MaskHas(const google::protobuf::FieldMask& mask, std::string_view path) {
  for (const std::string& p : mask.paths()) {
    if (p == path) return true;
  }
  return false;
}

struct BudgetRow {
  std::string name;
  std::string display_name;
  int year = 0;
  int64_t amount = 0;
  std::string scope;
  bool illustrative = false;
  int64_t version = 0;
  int64_t create_micros = 0;
  int64_t update_micros = 0;
};

constexpr char kBudgetColumns[] =
    "name, display_name, year, amount_pence, scope, illustrative, version, create_micros, "
    "update_micros";

v1::BudgetLine BudgetFromStatement(const Statement& stmt) {
  v1::BudgetLine line;
  line.set_name(stmt.Text(0));
  line.set_display_name(stmt.Text(1));
  line.set_financial_year(FormatFinancialYear(static_cast<int>(stmt.Int(2))));
  line.mutable_amount()->set_pence(stmt.Int(3));
  line.set_scope(stmt.Text(4));
  line.set_illustrative(stmt.Int(5) != 0);
  line.set_etag(Etag(stmt.Int(6)));
  SetTimestamp(line.mutable_create_time(), stmt.Int(7));
  SetTimestamp(line.mutable_update_time(), stmt.Int(8));
  return line;
}

absl::StatusOr<v1::BudgetLine> FindBudgetLine(Transaction& tx, const std::string& name) {
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(absl::StrCat("SELECT ", kBudgetColumns,
                                                           " FROM budget_line WHERE name = ?")));
  stmt.Bind(1, name);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound("BudgetLine", name);
  return BudgetFromStatement(stmt);
}

}  // namespace

absl::Status CheckResourceId(const std::string& id, std::string_view field) {
  bool ok = !id.empty() && id.size() <= 63 && id[0] >= 'a' && id[0] <= 'z';
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (!ok) return runtime::InvalidArgument(field, "an id is [a-z][a-z0-9-]{0,62}");
  return absl::OkStatus();
}

// ---- plans ----

absl::StatusOr<v1::Plan> PlanRepository::CreatePlan(const v1::CreatePlanRequest& request) {
  RETURN_IF_ERROR(CheckResourceId(request.plan_id(), "plan_id"));
  RETURN_IF_ERROR(CheckDisplayName(request.plan().display_name(), "plan.display_name"));
  const std::string name = absl::StrCat("plans/", request.plan_id());
  return store_.Write([&](Transaction& tx) -> absl::StatusOr<v1::Plan> {
    RETURN_IF_ERROR(InsertNode(tx, name, kNodePlan, std::nullopt, std::nullopt,
                               request.plan().display_name(), "")
                        .status());
    ASSIGN_OR_RETURN(NodeRow row, FindNode(tx, name, kNodePlan));
    return PlanFromRow(tx, row);
  });
}

absl::StatusOr<v1::Plan> PlanRepository::GetPlan(const std::string& name) {
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<v1::Plan> {
    ASSIGN_OR_RETURN(NodeRow row, FindNode(tx, name, kNodePlan));
    return PlanFromRow(tx, row);
  });
}

absl::StatusOr<v1::ListPlansResponse> PlanRepository::ListPlans(
    const v1::ListPlansRequest& request) {
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<v1::ListPlansResponse> {
    v1::ListPlansResponse response;
    RETURN_IF_ERROR(ListNodes(tx, codec_, "kind = ?", kNodePlan, "ListPlans", request.page_size(),
                              request.page_token(), PlanFromRow, response.mutable_plans(),
                              response.mutable_next_page_token()));
    return response;
  });
}

// ---- programmes ----

absl::StatusOr<v1::Programme> PlanRepository::CreateProgramme(
    const v1::CreateProgrammeRequest& request) {
  RETURN_IF_ERROR(CheckResourceId(request.programme_id(), "programme_id"));
  RETURN_IF_ERROR(CheckDisplayName(request.programme().display_name(), "programme.display_name"));
  const std::string name = absl::StrCat(request.parent(), "/programmes/", request.programme_id());
  return store_.Write([&](Transaction& tx) -> absl::StatusOr<v1::Programme> {
    ASSIGN_OR_RETURN(NodeRow plan, FindNode(tx, request.parent(), kNodePlan));
    RETURN_IF_ERROR(InsertNode(tx, name, kNodeProgramme, plan.id, plan.id,
                               request.programme().display_name(), "")
                        .status());
    ASSIGN_OR_RETURN(NodeRow row, FindNode(tx, name, kNodeProgramme));
    return ProgrammeFromRow(tx, row);
  });
}

absl::StatusOr<v1::Programme> PlanRepository::GetProgramme(const std::string& name) {
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<v1::Programme> {
    ASSIGN_OR_RETURN(NodeRow row, FindNode(tx, name, kNodeProgramme));
    return ProgrammeFromRow(tx, row);
  });
}

absl::StatusOr<v1::ListProgrammesResponse> PlanRepository::ListProgrammes(
    const v1::ListProgrammesRequest& request) {
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<v1::ListProgrammesResponse> {
    ASSIGN_OR_RETURN(NodeRow plan, FindNode(tx, request.parent(), kNodePlan));
    v1::ListProgrammesResponse response;
    RETURN_IF_ERROR(ListNodes(tx, codec_, "kind = 2 AND parent_id = ?", plan.id,
                              absl::StrCat("ListProgrammes|", request.parent()),
                              request.page_size(), request.page_token(), ProgrammeFromRow,
                              response.mutable_programmes(), response.mutable_next_page_token()));
    return response;
  });
}

// ---- schemes ----

absl::StatusOr<v1::Scheme> PlanRepository::CreateScheme(const v1::CreateSchemeRequest& request) {
  RETURN_IF_ERROR(CheckResourceId(request.scheme_id(), "scheme_id"));
  RETURN_IF_ERROR(CheckDisplayName(request.scheme().display_name(), "scheme.display_name"));
  RETURN_IF_ERROR(CheckScope(request.scheme().scope(), "scheme.scope"));
  ASSIGN_OR_RETURN(auto targets, ParseTargets(request.scheme().targets(), "scheme.targets"));
  const std::string name = absl::StrCat(request.parent(), "/schemes/", request.scheme_id());
  return store_.Write([&](Transaction& tx) -> absl::StatusOr<v1::Scheme> {
    ASSIGN_OR_RETURN(NodeRow programme, FindNode(tx, request.parent(), kNodeProgramme));
    RETURN_IF_ERROR(CheckCount(tx, "SELECT COUNT(*) FROM node WHERE kind = 3 AND plan_id = ?",
                               programme.plan_id, kMaxSchemesPerPlan, "scheme_id",
                               "schemes in one plan"));
    ASSIGN_OR_RETURN(int64_t id,
                     InsertNode(tx, name, kNodeScheme, programme.plan_id, programme.id,
                                request.scheme().display_name(), request.scheme().scope()));
    RETURN_IF_ERROR(WriteTargets(tx, id, targets));
    ASSIGN_OR_RETURN(NodeRow row, FindNode(tx, name, kNodeScheme));
    return SchemeFromRow(tx, row);
  });
}

absl::StatusOr<v1::Scheme> PlanRepository::GetScheme(const std::string& name) {
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<v1::Scheme> {
    ASSIGN_OR_RETURN(NodeRow row, FindNode(tx, name, kNodeScheme));
    return SchemeFromRow(tx, row);
  });
}

absl::StatusOr<v1::ListSchemesResponse> PlanRepository::ListSchemes(
    const v1::ListSchemesRequest& request) {
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<v1::ListSchemesResponse> {
    absl::StatusOr<NodeRow> parent = FindNode(tx, request.parent(), kNodeProgramme);
    const char* where = "kind = 3 AND parent_id = ?";
    if (!parent.ok()) {
      parent = FindNode(tx, request.parent(), kNodePlan);
      where = "kind = 3 AND plan_id = ?";
      if (!parent.ok()) return runtime::NotFound("Programme", request.parent());
    }
    v1::ListSchemesResponse response;
    RETURN_IF_ERROR(ListNodes(tx, codec_, where, parent->id,
                              absl::StrCat("ListSchemes|", request.parent()), request.page_size(),
                              request.page_token(), SchemeFromRow, response.mutable_schemes(),
                              response.mutable_next_page_token()));
    return response;
  });
}

absl::StatusOr<v1::Scheme> PlanRepository::UpdateScheme(const v1::UpdateSchemeRequest& request) {
  const v1::Scheme& in = request.scheme();
  RETURN_IF_ERROR(CheckUpdateMask(request.update_mask(), {"display_name", "targets", "scope"}));
  const bool set_name = MaskHas(request.update_mask(), "display_name");
  const bool set_targets = MaskHas(request.update_mask(), "targets");
  const bool set_scope = MaskHas(request.update_mask(), "scope");
  if (set_name) RETURN_IF_ERROR(CheckDisplayName(in.display_name(), "scheme.display_name"));
  if (set_scope) RETURN_IF_ERROR(CheckScope(in.scope(), "scheme.scope"));
  std::map<int, int64_t> targets;
  if (set_targets) {
    ASSIGN_OR_RETURN(targets, ParseTargets(in.targets(), "scheme.targets"));
  }
  return store_.Write([&](Transaction& tx) -> absl::StatusOr<v1::Scheme> {
    ASSIGN_OR_RETURN(NodeRow row, FindNode(tx, in.name(), kNodeScheme));
    RETURN_IF_ERROR(
        runtime::storage::CheckEtag(in.etag(), row.version, "Scheme", in.name(), "scheme.etag"));
    if (row.state == kSchemeClosed) {
      return runtime::FailedPrecondition("STATE", in.name(), "the scheme is closed");
    }
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx.Prepare("UPDATE node SET display_name = ?, scope = ?, version = version + 1, "
                   "update_micros = ? WHERE id = ?"));
    stmt.Bind(1, set_name ? in.display_name() : row.display_name);
    stmt.Bind(2, set_scope ? in.scope() : row.scope);
    stmt.Bind(3, NowMicros()).Bind(4, row.id);
    RETURN_IF_ERROR(stmt.Run());
    if (set_targets) RETURN_IF_ERROR(WriteTargets(tx, row.id, targets));
    ASSIGN_OR_RETURN(NodeRow updated, FindNode(tx, in.name(), kNodeScheme));
    return SchemeFromRow(tx, updated);
  });
}

absl::StatusOr<v1::Scheme> PlanRepository::CloseScheme(const v1::CloseSchemeRequest& request) {
  return store_.Write([&](Transaction& tx) -> absl::StatusOr<v1::Scheme> {
    ASSIGN_OR_RETURN(NodeRow row, FindNode(tx, request.name(), kNodeScheme));
    RETURN_IF_ERROR(
        runtime::storage::CheckEtag(request.etag(), row.version, "Scheme", request.name()));
    if (row.state != kSchemeClosed) {
      ASSIGN_OR_RETURN(Statement stmt,
                       tx.Prepare("UPDATE node SET state = ?, version = version + 1, "
                                  "update_micros = ? WHERE id = ?"));
      stmt.Bind(1, kSchemeClosed).Bind(2, NowMicros()).Bind(3, row.id);
      RETURN_IF_ERROR(stmt.Run());
    }
    ASSIGN_OR_RETURN(NodeRow updated, FindNode(tx, request.name(), kNodeScheme));
    return SchemeFromRow(tx, updated);
  });
}

// ---- budget lines ----

absl::StatusOr<v1::BudgetLine> PlanRepository::CreateBudgetLine(
    const v1::CreateBudgetLineRequest& request) {
  const v1::BudgetLine& in = request.budget_line();
  RETURN_IF_ERROR(CheckResourceId(request.budget_line_id(), "budget_line_id"));
  RETURN_IF_ERROR(CheckDisplayName(in.display_name(), "budget_line.display_name"));
  RETURN_IF_ERROR(CheckScope(in.scope(), "budget_line.scope"));
  ASSIGN_OR_RETURN(int year, ParseFinancialYear(in.financial_year(), "budget_line.financial_year"));
  RETURN_IF_ERROR(CheckAmountBound(in.amount().pence(), kMaxBudgetLinePence, "budget_line.amount",
                                   "a budget line"));
  const std::string name = absl::StrCat("budgetLines/", request.budget_line_id());
  return store_.Write([&](Transaction& tx) -> absl::StatusOr<v1::BudgetLine> {
    RETURN_IF_ERROR(CheckCount(tx, "SELECT COUNT(*) FROM budget_line WHERE id > ?", 0,
                               kMaxBudgetLines, "budget_line_id", "budget lines"));
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare("INSERT INTO budget_line(name, display_name, year, amount_pence, "
                                "scope, illustrative, create_micros, update_micros) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    const int64_t now = NowMicros();
    stmt.Bind(1, name).Bind(2, in.display_name()).Bind(3, year).Bind(4, in.amount().pence());
    stmt.Bind(5, in.scope()).Bind(6, in.illustrative() ? 1 : 0).Bind(7, now).Bind(8, now);
    absl::Status status = stmt.Run();
    if (absl::IsAlreadyExists(status)) return runtime::AlreadyExists("BudgetLine", name);
    RETURN_IF_ERROR(status);
    return FindBudgetLine(tx, name);
  });
}

absl::StatusOr<v1::BudgetLine> PlanRepository::GetBudgetLine(const std::string& name) {
  return store_.Read([&](Transaction& tx) { return FindBudgetLine(tx, name); });
}

absl::StatusOr<v1::ListBudgetLinesResponse> PlanRepository::ListBudgetLines(
    const v1::ListBudgetLinesRequest& request) {
  std::optional<int> year;
  if (!request.financial_year().empty()) {
    ASSIGN_OR_RETURN(year, ParseFinancialYear(request.financial_year(), "financial_year"));
  }
  ASSIGN_OR_RETURN(
      KeysetPage page,
      KeysetPage::Start(codec_, absl::StrCat("ListBudgetLines|", request.financial_year()),
                        request.page_size(), request.page_token()));
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<v1::ListBudgetLinesResponse> {
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare(absl::StrCat(
                         "SELECT ", kBudgetColumns,
                         " FROM budget_line WHERE (CAST(? AS BIGINT) IS NULL OR year = ?) AND "
                         "name > ? ORDER BY name LIMIT ?")));
    std::optional<int64_t> y = year;
    stmt.Bind(1, y).Bind(2, y).Bind(3, page.after()).Bind(4, page.fetch_limit());
    v1::ListBudgetLinesResponse response;
    RETURN_IF_ERROR(page.Collect(
        stmt, BudgetFromStatement, [](const Statement& row) { return row.Text(0); },
        *response.mutable_budget_lines(), response.mutable_next_page_token()));
    return response;
  });
}

absl::StatusOr<v1::BudgetLine> PlanRepository::UpdateBudgetLine(
    const v1::UpdateBudgetLineRequest& request) {
  const v1::BudgetLine& in = request.budget_line();
  RETURN_IF_ERROR(
      CheckUpdateMask(request.update_mask(), {"display_name", "amount", "scope", "illustrative"}));
  const auto& mask = request.update_mask();
  if (MaskHas(mask, "display_name")) {
    RETURN_IF_ERROR(CheckDisplayName(in.display_name(), "budget_line.display_name"));
  }
  if (MaskHas(mask, "scope")) RETURN_IF_ERROR(CheckScope(in.scope(), "budget_line.scope"));
  if (MaskHas(mask, "amount")) {
    RETURN_IF_ERROR(CheckAmountBound(in.amount().pence(), kMaxBudgetLinePence, "budget_line.amount",
                                     "a budget line"));
  }
  return store_.Write([&](Transaction& tx) -> absl::StatusOr<v1::BudgetLine> {
    ASSIGN_OR_RETURN(v1::BudgetLine current, FindBudgetLine(tx, in.name()));
    ASSIGN_OR_RETURN(int64_t revision, runtime::storage::ParseEtag(current.etag()));
    RETURN_IF_ERROR(runtime::storage::CheckEtag(in.etag(), revision, "BudgetLine", in.name(),
                                                "budget_line.etag"));
    if (MaskHas(mask, "display_name")) current.set_display_name(in.display_name());
    if (MaskHas(mask, "amount")) *current.mutable_amount() = in.amount();
    if (MaskHas(mask, "scope")) current.set_scope(in.scope());
    if (MaskHas(mask, "illustrative")) current.set_illustrative(in.illustrative());
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare("UPDATE budget_line SET display_name = ?, amount_pence = ?, "
                                "scope = ?, illustrative = ?, version = version + 1, "
                                "update_micros = ? WHERE name = ?"));
    stmt.Bind(1, current.display_name()).Bind(2, current.amount().pence()).Bind(3, current.scope());
    stmt.Bind(4, current.illustrative() ? 1 : 0).Bind(5, NowMicros()).Bind(6, in.name());
    RETURN_IF_ERROR(stmt.Run());
    return FindBudgetLine(tx, in.name());
  });
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> PlanRepository::BudgetByScope(
    int year) {
  return store_.Read(
      [&](Transaction& tx) -> absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> {
        ASSIGN_OR_RETURN(Statement stmt,
                         tx.Prepare("SELECT scope, amount_pence FROM budget_line WHERE year = ?"));
        stmt.Bind(1, year);
        std::vector<std::pair<std::string, int64_t>> out;
        while (true) {
          ASSIGN_OR_RETURN(bool row, stmt.Step());
          if (!row) break;
          out.emplace_back(stmt.Text(0), stmt.Int(1));
        }
        return out;
      });
}

}  // namespace dorset::finance
