// Reading postings back (ledger.h: LedgerReader, ReadPosting), apart from the writer.
#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/keyset_page.h"
#include "services/finance/calendar.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/schema.h"
#include "services/finance/time_util.h"

namespace dorset::finance {

using runtime::storage::KeysetPage;
using runtime::storage::Statement;

const char kPostingColumns[] =
    "p.id, n.name, p.year, p.month, p.kind, p.amount_pence, p.reason, p.reverses, p.principal, "
    "p.create_micros, p.request_id, (SELECT r.id FROM posting r WHERE r.reverses = p.id)";
const char kPostingJoins[] = "posting p JOIN node n ON n.id = p.scheme_id";

v1::Posting ReadPosting(const Statement& stmt) {
  v1::Posting posting;
  posting.set_name(absl::StrCat("postings/", stmt.Int(0)));
  posting.set_scheme(stmt.Text(1));
  posting.set_financial_year(FormatFinancialYear(static_cast<int>(stmt.Int(2))));
  posting.set_month(static_cast<int32_t>(stmt.Int(3)));
  posting.set_kind(static_cast<v1::PostingKind>(stmt.Int(4)));
  posting.mutable_amount()->set_pence(stmt.Int(5));
  posting.set_reason(stmt.Text(6));
  if (!stmt.IsNull(7)) posting.set_reverses(absl::StrCat("postings/", stmt.Int(7)));
  posting.set_principal(stmt.Text(8));
  SetTimestamp(posting.mutable_create_time(), stmt.Int(9));
  posting.set_request_id(stmt.Text(10));
  if (!stmt.IsNull(11)) posting.set_reversed_by(absl::StrCat("postings/", stmt.Int(11)));
  return posting;
}

absl::StatusOr<v1::Posting> LedgerReader::Get(const std::string& name) {
  ASSIGN_OR_RETURN(int64_t id, ParsePostingName(name, "name"));
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<v1::Posting> {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(absl::StrCat("SELECT ", kPostingColumns, " FROM ",
                                                             kPostingJoins, " WHERE p.id = ?")));
    stmt.Bind(1, id);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return runtime::NotFound("Posting", name);
    return ReadPosting(stmt);
  });
}

absl::StatusOr<v1::ListPostingsResponse> LedgerReader::List(
    const v1::ListPostingsRequest& request) {
  std::optional<int64_t> year;
  if (!request.financial_year().empty()) {
    ASSIGN_OR_RETURN(year, ParseFinancialYear(request.financial_year(), "financial_year"));
  }
  std::optional<int64_t> month;
  if (request.month() != 0) {
    RETURN_IF_ERROR(CheckMonth(request.month(), "month"));
    month = request.month();
  }
  std::optional<int64_t> kind;
  if (request.kind() != v1::POSTING_KIND_UNSPECIFIED) {
    if (!v1::PostingKind_IsValid(request.kind())) {
      return runtime::InvalidArgument("kind", "unknown posting kind");
    }
    kind = request.kind();
  }
  ASSIGN_OR_RETURN(
      KeysetPage page,
      KeysetPage::Start(codec_,
                        absl::StrCat("ListPostings|", request.node(), "|", request.financial_year(),
                                     "|", request.month(), "|", request.kind()),
                        request.page_size(), request.page_token(),
                        {.default_size = 100, .max_size = 1000}));
  int64_t after = 0;
  if (!page.first() && !absl::SimpleAtoi(page.after(), &after)) {
    return runtime::InvalidArgument("page_token", "malformed");
  }
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<v1::ListPostingsResponse> {
    std::optional<int64_t> scheme_id, programme_id, plan_id;
    if (!request.node().empty()) {
      ASSIGN_OR_RETURN(Statement node, tx.Prepare("SELECT id, kind FROM node WHERE name = ?"));
      node.Bind(1, request.node());
      ASSIGN_OR_RETURN(bool found, node.Step());
      if (!found) return runtime::NotFound("Node", request.node());
      const int node_kind = static_cast<int>(node.Int(1));
      (node_kind == kNodeScheme      ? scheme_id
       : node_kind == kNodeProgramme ? programme_id
                                     : plan_id) = node.Int(0);
    }
    // Only the filters given: each is one more `?` (PostgreSQL cannot type a bare `? IS NULL`).
    std::string sql =
        absl::StrCat("SELECT ", kPostingColumns, " FROM ", kPostingJoins, " WHERE p.id > ?");
    std::vector<int64_t> values = {after};
    const auto filter = [&](const std::optional<int64_t>& value, const char* column) {
      if (!value) return;
      absl::StrAppend(&sql, " AND ", column, " = ?");
      values.push_back(*value);
    };
    filter(scheme_id, "p.scheme_id");
    filter(programme_id, "n.parent_id");
    filter(plan_id, "n.plan_id");
    filter(year, "p.year");
    filter(month, "p.month");
    filter(kind, "p.kind");
    absl::StrAppend(&sql, " ORDER BY p.id LIMIT ?");
    values.push_back(page.fetch_limit());
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
    for (size_t i = 0; i < values.size(); ++i) stmt.Bind(static_cast<int>(i + 1), values[i]);
    v1::ListPostingsResponse response;
    RETURN_IF_ERROR(page.Collect(
        stmt, ReadPosting, [](const Statement& row) { return absl::StrCat(row.Int(0)); },
        *response.mutable_postings(), response.mutable_next_page_token()));
    return response;
  });
}

}  // namespace dorset::finance
