// The plan API's calls (plan_api.h): each request checked (plan_api_checks.h), mapped to the
// domain's records and back, and its lists paged by the runtime's one keyset rule.
#include "services/finance/api/plan_api.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/etag.h"
#include "runtime/storage/keyset_page.h"
#include "services/finance/api/plan_api_checks.h"
#include "services/finance/calendar.h"
#include "services/finance/limits.h"
#include "services/finance/time_util.h"

namespace dorset::finance {
namespace {

using plan_api_internal::CheckDisplayName;
using plan_api_internal::CheckOwner;
using plan_api_internal::CheckScope;
using plan_api_internal::CheckUpdateMask;
using plan_api_internal::ExpectedVersion;
using plan_api_internal::MaskHas;
using plan_api_internal::ParseAttributes;
using plan_api_internal::ParseMaturity;
using plan_api_internal::ParseRecurrence;
using plan_api_internal::ParseTargets;
using runtime::storage::Etag;
using runtime::storage::KeysetPage;

// ---- proto mapping ----

void FillTargets(const YearAmounts& targets,
                 google::protobuf::RepeatedPtrField<v1::YearAmount>* out) {
  out->Clear();
  for (const auto& [year, pence] : targets) {
    v1::YearAmount* item = out->Add();
    item->set_financial_year(FormatFinancialYear(year));
    item->mutable_amount()->set_pence(pence);
  }
}

v1::Plan ToPlan(const NodeRecord& node) {
  v1::Plan plan;
  plan.set_name(node.name);
  plan.set_display_name(node.display_name);
  FillTargets(node.targets, plan.mutable_targets());
  SetTimestamp(plan.mutable_create_time(), node.create_micros);
  return plan;
}

v1::Programme ToProgramme(const NodeRecord& node) {
  v1::Programme programme;
  programme.set_name(node.name);
  programme.set_display_name(node.display_name);
  FillTargets(node.targets, programme.mutable_targets());
  SetTimestamp(programme.mutable_create_time(), node.create_micros);
  return programme;
}

v1::Scheme ToScheme(const NodeRecord& node) {
  v1::Scheme scheme;
  scheme.set_name(node.name);
  scheme.set_display_name(node.display_name);
  FillTargets(node.targets, scheme.mutable_targets());
  scheme.set_state(node.closed ? v1::Scheme::STATE_CLOSED : v1::Scheme::STATE_OPEN);
  scheme.set_scope(node.scope);
  scheme.set_etag(Etag(node.version));
  SetTimestamp(scheme.mutable_create_time(), node.create_micros);
  SetTimestamp(scheme.mutable_update_time(), node.update_micros);
  scheme.set_recurrence(static_cast<v1::SavingRecurrence>(node.attributes.recurrence));
  scheme.set_maturity(static_cast<v1::SchemeMaturity>(node.attributes.maturity));
  scheme.set_senior_responsible_owner(node.attributes.senior_responsible_owner);
  return scheme;
}

v1::BudgetLine ToBudgetLine(const BudgetLineRecord& row) {
  v1::BudgetLine line;
  line.set_name(row.name);
  line.set_display_name(row.display_name);
  line.set_financial_year(FormatFinancialYear(row.year));
  line.mutable_amount()->set_pence(row.amount);
  line.set_scope(row.scope);
  line.set_illustrative(row.illustrative);
  line.set_etag(Etag(row.version));
  SetTimestamp(line.mutable_create_time(), row.create_micros);
  SetTimestamp(line.mutable_update_time(), row.update_micros);
  return line;
}

// ---- paging ----

// The domain's records as a statement KeysetPage::Collect can step through, so every list
// pages by the one runtime rule (page size, byte budget, signed token after the last key).
template <typename Record>
class RecordCursor {
 public:
  explicit RecordCursor(const std::vector<Record>& records) : records_(records) {}
  absl::StatusOr<bool> Step() {
    if (next_ >= records_.size()) return false;
    current_ = &records_[next_++];
    return true;
  }
  const Record& row() const { return *current_; }

 private:
  const std::vector<Record>& records_;
  size_t next_ = 0;
  const Record* current_ = nullptr;
};

// Lists one page: `fetch(window)` returns the domain's records after the token's key.
template <typename Record, typename Item, typename Fetch, typename ToItem>
absl::Status ListPage(const runtime::PageTokenCodec& codec, std::string fingerprint,
                      int32_t page_size, const std::string& page_token, Fetch&& fetch,
                      ToItem&& to_item, google::protobuf::RepeatedPtrField<Item>* items,
                      std::string* next_page_token) {
  ASSIGN_OR_RETURN(KeysetPage page,
                   KeysetPage::Start(codec, std::move(fingerprint), page_size, page_token));
  ASSIGN_OR_RETURN(std::vector<Record> records,
                   fetch(RowWindow{.after = page.after(), .limit = page.fetch_limit()}));
  RecordCursor<Record> cursor(records);
  return page.Collect(
      cursor, [&](RecordCursor<Record>& c) { return to_item(c.row()); },
      [](const RecordCursor<Record>& c) { return c.row().name; }, *items, next_page_token);
}

}  // namespace

// ---- plans ----

absl::StatusOr<v1::Plan> PlanApi::CreatePlan(const v1::CreatePlanRequest& request) {
  RETURN_IF_ERROR(CheckResourceId(request.plan_id(), "plan_id"));
  RETURN_IF_ERROR(CheckDisplayName(request.plan().display_name(), "plan.display_name"));
  ASSIGN_OR_RETURN(NodeRecord node, plans_.CreatePlan(absl::StrCat("plans/", request.plan_id()),
                                                      request.plan().display_name()));
  return ToPlan(node);
}

absl::StatusOr<v1::Plan> PlanApi::GetPlan(const std::string& name) {
  ASSIGN_OR_RETURN(NodeRecord node, plans_.Get(name, NodeKind::kPlan));
  return ToPlan(node);
}

absl::StatusOr<v1::ListPlansResponse> PlanApi::ListPlans(const v1::ListPlansRequest& request) {
  v1::ListPlansResponse response;
  RETURN_IF_ERROR(ListPage<NodeRecord>(
      codec_, "ListPlans", request.page_size(), request.page_token(),
      [&](const RowWindow& window) { return plans_.ListPlans(window); }, ToPlan,
      response.mutable_plans(), response.mutable_next_page_token()));
  return response;
}

// ---- programmes ----

absl::StatusOr<v1::Programme> PlanApi::CreateProgramme(const v1::CreateProgrammeRequest& request) {
  RETURN_IF_ERROR(CheckResourceId(request.programme_id(), "programme_id"));
  RETURN_IF_ERROR(CheckDisplayName(request.programme().display_name(), "programme.display_name"));
  ASSIGN_OR_RETURN(
      NodeRecord node,
      plans_.CreateProgramme(request.parent(),
                             absl::StrCat(request.parent(), "/programmes/", request.programme_id()),
                             request.programme().display_name()));
  return ToProgramme(node);
}

absl::StatusOr<v1::Programme> PlanApi::GetProgramme(const std::string& name) {
  ASSIGN_OR_RETURN(NodeRecord node, plans_.Get(name, NodeKind::kProgramme));
  return ToProgramme(node);
}

absl::StatusOr<v1::ListProgrammesResponse> PlanApi::ListProgrammes(
    const v1::ListProgrammesRequest& request) {
  v1::ListProgrammesResponse response;
  RETURN_IF_ERROR(ListPage<NodeRecord>(
      codec_, absl::StrCat("ListProgrammes|", request.parent()), request.page_size(),
      request.page_token(),
      [&](const RowWindow& window) { return plans_.ListProgrammes(request.parent(), window); },
      ToProgramme, response.mutable_programmes(), response.mutable_next_page_token()));
  return response;
}

// ---- schemes ----

absl::StatusOr<v1::Scheme> PlanApi::CreateScheme(const v1::CreateSchemeRequest& request) {
  RETURN_IF_ERROR(CheckResourceId(request.scheme_id(), "scheme_id"));
  RETURN_IF_ERROR(CheckDisplayName(request.scheme().display_name(), "scheme.display_name"));
  RETURN_IF_ERROR(CheckScope(request.scheme().scope(), "scheme.scope"));
  ASSIGN_OR_RETURN(YearAmounts targets, ParseTargets(request.scheme().targets(), "scheme.targets"));
  ASSIGN_OR_RETURN(SchemeAttributes attributes, ParseAttributes(request.scheme()));
  ASSIGN_OR_RETURN(
      NodeRecord node,
      plans_.CreateScheme(
          request.parent(), absl::StrCat(request.parent(), "/schemes/", request.scheme_id()),
          request.scheme().display_name(), request.scheme().scope(), targets, attributes));
  return ToScheme(node);
}

absl::StatusOr<v1::Scheme> PlanApi::GetScheme(const std::string& name) {
  ASSIGN_OR_RETURN(NodeRecord node, plans_.Get(name, NodeKind::kScheme));
  return ToScheme(node);
}

absl::StatusOr<v1::ListSchemesResponse> PlanApi::ListSchemes(
    const v1::ListSchemesRequest& request) {
  v1::ListSchemesResponse response;
  RETURN_IF_ERROR(ListPage<NodeRecord>(
      codec_, absl::StrCat("ListSchemes|", request.parent()), request.page_size(),
      request.page_token(),
      [&](const RowWindow& window) { return plans_.ListSchemes(request.parent(), window); },
      ToScheme, response.mutable_schemes(), response.mutable_next_page_token()));
  return response;
}

absl::StatusOr<v1::Scheme> PlanApi::UpdateScheme(const v1::UpdateSchemeRequest& request) {
  const v1::Scheme& in = request.scheme();
  const google::protobuf::FieldMask& mask = request.update_mask();
  RETURN_IF_ERROR(CheckUpdateMask(mask, {"display_name", "targets", "scope", "recurrence",
                                         "maturity", "senior_responsible_owner"}));
  SchemeEdit edit;
  if (MaskHas(mask, "display_name")) {
    RETURN_IF_ERROR(CheckDisplayName(in.display_name(), "scheme.display_name"));
    edit.display_name = in.display_name();
  }
  if (MaskHas(mask, "scope")) {
    RETURN_IF_ERROR(CheckScope(in.scope(), "scheme.scope"));
    edit.scope = in.scope();
  }
  if (MaskHas(mask, "targets")) {
    ASSIGN_OR_RETURN(edit.targets, ParseTargets(in.targets(), "scheme.targets"));
  }
  if (MaskHas(mask, "recurrence")) {
    ASSIGN_OR_RETURN(edit.recurrence, ParseRecurrence(in.recurrence(), "scheme.recurrence"));
  }
  if (MaskHas(mask, "maturity")) {
    ASSIGN_OR_RETURN(edit.maturity, ParseMaturity(in.maturity(), "scheme.maturity"));
  }
  if (MaskHas(mask, "senior_responsible_owner")) {
    RETURN_IF_ERROR(CheckOwner(in.senior_responsible_owner(), "scheme.senior_responsible_owner"));
    edit.senior_responsible_owner = in.senior_responsible_owner();
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> version, ExpectedVersion(in.etag(), "scheme.etag"));
  ASSIGN_OR_RETURN(NodeRecord node, plans_.UpdateScheme(in.name(), version, edit));
  return ToScheme(node);
}

absl::StatusOr<v1::Scheme> PlanApi::CloseScheme(const v1::CloseSchemeRequest& request) {
  ASSIGN_OR_RETURN(std::optional<int64_t> version, ExpectedVersion(request.etag(), "etag"));
  ASSIGN_OR_RETURN(NodeRecord node, plans_.CloseScheme(request.name(), version));
  return ToScheme(node);
}

// ---- budget lines ----

absl::StatusOr<v1::BudgetLine> PlanApi::CreateBudgetLine(
    const v1::CreateBudgetLineRequest& request) {
  const v1::BudgetLine& in = request.budget_line();
  RETURN_IF_ERROR(CheckResourceId(request.budget_line_id(), "budget_line_id"));
  RETURN_IF_ERROR(CheckDisplayName(in.display_name(), "budget_line.display_name"));
  RETURN_IF_ERROR(CheckScope(in.scope(), "budget_line.scope"));
  ASSIGN_OR_RETURN(int year, ParseFinancialYear(in.financial_year(), "budget_line.financial_year"));
  RETURN_IF_ERROR(CheckAmountBound(in.amount().pence(), kMaxBudgetLinePence, "budget_line.amount",
                                   "a budget line"));
  BudgetLineRecord record;
  record.name = absl::StrCat("budgetLines/", request.budget_line_id());
  record.display_name = in.display_name();
  record.year = year;
  record.amount = in.amount().pence();
  record.scope = in.scope();
  record.illustrative = in.illustrative();
  ASSIGN_OR_RETURN(BudgetLineRecord line, plans_.CreateBudgetLine(record));
  return ToBudgetLine(line);
}

absl::StatusOr<v1::BudgetLine> PlanApi::GetBudgetLine(const std::string& name) {
  ASSIGN_OR_RETURN(BudgetLineRecord line, plans_.GetBudgetLine(name));
  return ToBudgetLine(line);
}

absl::StatusOr<v1::ListBudgetLinesResponse> PlanApi::ListBudgetLines(
    const v1::ListBudgetLinesRequest& request) {
  std::optional<int> year;
  if (!request.financial_year().empty()) {
    ASSIGN_OR_RETURN(year, ParseFinancialYear(request.financial_year(), "financial_year"));
  }
  v1::ListBudgetLinesResponse response;
  RETURN_IF_ERROR(ListPage<BudgetLineRecord>(
      codec_, absl::StrCat("ListBudgetLines|", request.financial_year()), request.page_size(),
      request.page_token(),
      [&](const RowWindow& window) { return plans_.ListBudgetLines(year, window); }, ToBudgetLine,
      response.mutable_budget_lines(), response.mutable_next_page_token()));
  return response;
}

absl::StatusOr<v1::BudgetLine> PlanApi::UpdateBudgetLine(
    const v1::UpdateBudgetLineRequest& request) {
  const v1::BudgetLine& in = request.budget_line();
  const google::protobuf::FieldMask& mask = request.update_mask();
  RETURN_IF_ERROR(CheckUpdateMask(mask, {"display_name", "amount", "scope", "illustrative"}));
  BudgetLineEdit edit;
  if (MaskHas(mask, "display_name")) {
    RETURN_IF_ERROR(CheckDisplayName(in.display_name(), "budget_line.display_name"));
    edit.display_name = in.display_name();
  }
  if (MaskHas(mask, "scope")) {
    RETURN_IF_ERROR(CheckScope(in.scope(), "budget_line.scope"));
    edit.scope = in.scope();
  }
  if (MaskHas(mask, "amount")) {
    RETURN_IF_ERROR(CheckAmountBound(in.amount().pence(), kMaxBudgetLinePence, "budget_line.amount",
                                     "a budget line"));
    edit.amount = in.amount().pence();
  }
  if (MaskHas(mask, "illustrative")) edit.illustrative = in.illustrative();
  ASSIGN_OR_RETURN(std::optional<int64_t> version, ExpectedVersion(in.etag(), "budget_line.etag"));
  ASSIGN_OR_RETURN(BudgetLineRecord line, plans_.UpdateBudgetLine(in.name(), version, edit));
  return ToBudgetLine(line);
}

}  // namespace dorset::finance
