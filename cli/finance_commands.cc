// dorsetctl finance ...: plans and schemes, budget lines, posting to the ledger, reports, the
// gap trajectory, per-head figures and CSV exports for finance teams. Amounts travel as
// integer pence; this is the edge where they are shown as pounds with two decimals.
//
//   dorsetctl finance schemes --plan=plans/dorset-stp
//   dorsetctl finance post --scheme=plans/dorset-stp/programmes/.../schemes/rightcare
//       --year=2020-21 --month=3 --kind=actual --amount=1,234.56 --reason="M3 ledger"
//   dorsetctl finance report --plan=plans/dorset-stp --year=2020-21 --month=3 [--csv]
//   dorsetctl finance export-postings --year=2020-21 --out=postings.csv
// The reports are run by finance_report_commands.cc, the month-end close by
// finance_period_commands.cc and bulk entry by finance_import_commands.cc.
#include <fstream>
#include <iostream>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/cli_common.h"
#include "cli/command_groups.h"
#include "cli/finance_import_commands.h"
#include "cli/finance_output.h"
#include "cli/finance_period_commands.h"
#include "cli/finance_report_commands.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "runtime/text/csv_writer.h"
#include "services/finance/client/finance_client.h"
#include "services/finance/money/money.h"

namespace dorset::cli {
namespace {

namespace v1 = dorset::finance::v1;
namespace money = dorset::finance::money;
using finance_cli::CsvOptionsOf;
using finance_cli::Display;
using finance_cli::kDefaultPlan;
using finance_cli::Output;
using finance_cli::Pounds;
using finance_cli::Usage;

constexpr char kDefaultTarget[] = "127.0.0.1:50052";

const char kUsage[] =
    "usage: dorsetctl finance <command> [options]\n"
    "  plans\n"
    "  schemes [--plan=plans/dorset-stp]\n"
    "  set-scheme SCHEME [--recurrence=recurrent|non-recurrent]\n"
    "       [--maturity=fully-developed|in-delivery|opportunity|unidentified] [--sro=NAME]\n"
    "  budget-lines [--year=2020-21]\n"
    "  post --scheme=NAME --year=YYYY-YY --month=1..12 --kind=plan|actual|forecast\n"
    "       --amount=POUNDS [--reason=TEXT] [--request_id=ID]\n"
    "  reverse POSTING --reason=TEXT [--request_id=ID]\n"
    "  postings [--node=NAME] [--year=YYYY-YY] [--month=N] [--kind=K] [--csv]\n"
    "  report --year=YYYY-YY --month=N [--plan=NAME] [--green_bp=9500] [--amber_bp=8500]\n"
    "         [--group_by=recurrence|maturity|senior_responsible_owner] [--csv]\n"
    "  gap [--plan=NAME] [--as_of_year=YYYY-YY --as_of_month=N] [--group_by=...]\n"
    "  per-head --year=YYYY-YY [--plan=NAME] [--csv]\n"
    "  export-report --year=YYYY-YY --month=N [--plan=NAME] [--out=FILE] [--bom]\n"
    "  export-postings [filters as for postings] [--out=FILE] [--bom]\n"
    "  import-postings FILE.csv         (columns scheme, financial_year, month, kind,\n"
    "                                     amount_gbp [, reason]; all lines or none)\n"
    "  period list --year=YYYY-YY\n"
    "  period get|start-close|close|reopen financialYears/YYYY-YY/periods/N [--reason=TEXT]\n"
    "  verify [--year=YYYY-YY]           (exit 1 when the ledger does not verify)\n"
    "amounts: pounds with at most two decimals, e.g. 1234.56, \xC2\xA3"
    "1,234.56, -16000000\n"
    "options: --target=host:port (or DORSETCTL_FINANCE, config finance=; default\n"
    "         127.0.0.1:50052) --token=... (or DORSETCTL_TOKEN) --tls_ca=ca.pem\n";

std::string KindName(v1::PostingKind kind) {
  switch (kind) {
    case v1::POSTING_KIND_PLAN:
      return "PLAN";
    case v1::POSTING_KIND_ACTUAL:
      return "ACTUAL";
    case v1::POSTING_KIND_FORECAST:
      return "FORECAST";
    default:
      return "UNSPECIFIED";
  }
}

std::string NewRequestId() {
  std::random_device random;
  return absl::StrFormat("cli-%08x%08x", random(), random());
}

// --kind through the one enum parser (any case, POSTING_KIND_ prefix optional); prints the
// valid values when wrong.
std::optional<v1::PostingKind> ParseKind(const std::string& text) {
  absl::StatusOr<v1::PostingKind> kind = ParseEnum<v1::PostingKind>("kind", text);
  if (!kind.ok()) {
    PrintUsageError(kind.status());
    return std::nullopt;
  }
  return *kind;
}

class Finance {
 public:
  explicit Finance(Connection connection)
      : connection_(std::move(connection)),
        client_(finance::FinanceClient::ForChannel(connection_.channel,
                                                   ClientOptionsOf(connection_))) {}

  int Plans() {
    v1::ListPlansRequest request;
    request.set_page_size(500);
    absl::StatusOr<v1::ListPlansResponse> reply = client_->ListPlans(request);
    if (!reply.ok()) return ReportError(reply.status());
    const v1::ListPlansResponse& response = *reply;
    for (const auto& plan : response.plans()) {
      std::cout << plan.name() << "  " << plan.display_name() << "\n";
      for (const auto& t : plan.targets()) {
        std::cout << "    " << t.financial_year() << "  " << Display(t.amount()) << "\n";
      }
    }
    return 0;
  }

  int Schemes(const Args& args) {
    v1::ListSchemesRequest request;
    request.set_parent(args.GetOr("plan", kDefaultPlan));
    request.set_page_size(500);
    while (true) {
      absl::StatusOr<v1::ListSchemesResponse> reply = client_->ListSchemes(request);
      if (!reply.ok()) return ReportError(reply.status());
      const v1::ListSchemesResponse& response = *reply;
      for (const auto& s : response.schemes()) {
        std::cout << s.name() << (s.state() == v1::Scheme::STATE_CLOSED ? "  [closed]" : "")
                  << "\n    " << s.display_name()
                  << (s.scope().empty() ? "" : "  scope " + s.scope()) << "\n";
        PrintAttributes(s);
        for (const auto& t : s.targets()) {
          std::cout << "    " << t.financial_year() << "  " << Display(t.amount()) << "\n";
        }
      }
      if (response.next_page_token().empty()) return 0;
      request.set_page_token(response.next_page_token());
    }
  }

  // Records the attributes reports group by (docs/finance.md "Scheme attributes"); only the
  // ones given change (the update mask names them).
  int SetScheme(const Args& args) {
    if (args.positional().size() != 2) return Usage();
    v1::UpdateSchemeRequest request;
    v1::Scheme* scheme = request.mutable_scheme();
    scheme->set_name(args.positional()[1]);
    v1::SavingRecurrence recurrence = v1::SAVING_RECURRENCE_UNSPECIFIED;
    v1::SchemeMaturity maturity = v1::SCHEME_MATURITY_UNSPECIFIED;
    if (!EnumFlag(args, "recurrence", &recurrence) || !EnumFlag(args, "maturity", &maturity)) {
      return 2;
    }
    if (args.Has("recurrence")) {
      scheme->set_recurrence(recurrence);
      request.mutable_update_mask()->add_paths("recurrence");
    }
    if (args.Has("maturity")) {
      scheme->set_maturity(maturity);
      request.mutable_update_mask()->add_paths("maturity");
    }
    if (args.Has("sro")) {
      scheme->set_senior_responsible_owner(args.GetOr("sro", ""));
      request.mutable_update_mask()->add_paths("senior_responsible_owner");
    }
    if (request.update_mask().paths().empty()) {
      std::cerr << "set-scheme: give --recurrence, --maturity or --sro\n";
      return 2;
    }
    absl::StatusOr<v1::Scheme> updated = client_->UpdateScheme(request);
    if (!updated.ok()) return ReportError(updated.status());
    std::cout << updated->name() << "\n";
    PrintAttributes(*updated);
    return 0;
  }

  static void PrintAttributes(const v1::Scheme& s) {
    if (s.recurrence() == v1::SAVING_RECURRENCE_UNSPECIFIED &&
        s.maturity() == v1::SCHEME_MATURITY_UNSPECIFIED && s.senior_responsible_owner().empty()) {
      return;
    }
    std::cout << "    " << v1::SavingRecurrence_Name(s.recurrence()) << "  "
              << v1::SchemeMaturity_Name(s.maturity())
              << (s.senior_responsible_owner().empty() ? ""
                                                       : "  SRO " + s.senior_responsible_owner())
              << "\n";
  }

  int BudgetLines(const Args& args) {
    v1::ListBudgetLinesRequest request;
    request.set_financial_year(args.GetOr("year", ""));
    request.set_page_size(500);
    absl::StatusOr<v1::ListBudgetLinesResponse> reply = client_->ListBudgetLines(request);
    if (!reply.ok()) return ReportError(reply.status());
    const v1::ListBudgetLinesResponse& response = *reply;
    for (const auto& line : response.budget_lines()) {
      std::cout << line.name() << "  " << line.financial_year() << "  " << Display(line.amount())
                << (line.illustrative() ? "  (illustrative)" : "") << "\n    "
                << line.display_name() << "\n";
    }
    return 0;
  }

  int Post(const Args& args) {
    v1::CreatePostingRequest request;
    request.set_request_id(args.GetOr("request_id", NewRequestId()));
    v1::Posting* p = request.mutable_posting();
    p->set_scheme(args.GetOr("scheme", ""));
    p->set_financial_year(args.GetOr("year", ""));
    int month = 0;
    if (!absl::SimpleAtoi(args.GetOr("month", ""), &month)) {
      std::cerr << "--month must be 1..12 (M1 = April)\n";
      return 2;
    }
    p->set_month(month);
    std::optional<v1::PostingKind> kind = ParseKind(args.GetOr("kind", ""));
    if (!kind) return 2;
    p->set_kind(*kind);
    absl::StatusOr<int64_t> pence = money::ParsePounds(args.GetOr("amount", ""));
    if (!pence.ok()) {
      std::cerr << "--amount: " << pence.status().message() << "\n";
      return 2;
    }
    p->mutable_amount()->set_pence(*pence);
    p->set_reason(args.GetOr("reason", ""));
    return Send(request);
  }

  int Reverse(const Args& args) {
    if (args.positional().size() != 2) return Usage();
    v1::CreatePostingRequest request;
    request.set_request_id(args.GetOr("request_id", NewRequestId()));
    request.mutable_posting()->set_reverses(args.positional()[1]);
    request.mutable_posting()->set_reason(args.GetOr("reason", ""));
    return Send(request);
  }

  int Postings(const Args& args, bool csv, Output& out) {
    v1::ListPostingsRequest request;
    request.set_node(args.GetOr("node", ""));
    request.set_financial_year(args.GetOr("year", ""));
    if (auto month = args.Get("month")) {
      int m = 0;
      if (!absl::SimpleAtoi(*month, &m)) return Usage();
      request.set_month(m);
    }
    if (auto kind = args.Get("kind")) {
      std::optional<v1::PostingKind> k = ParseKind(*kind);
      if (!k) return 2;
      request.set_kind(*k);
    }
    request.set_page_size(1000);
    runtime::CsvWriter writer(CsvOptionsOf(args));
    if (csv) {
      writer.Row({"posting", "scheme", "financial_year", "month", "kind", "amount_gbp", "reason",
                  "reverses", "reversed_by", "principal", "create_time", "request_id"});
    }
    while (true) {
      absl::StatusOr<v1::ListPostingsResponse> reply = client_->ListPostings(request);
      if (!reply.ok()) return ReportError(reply.status());
      const v1::ListPostingsResponse& response = *reply;
      for (const auto& p : response.postings()) {
        if (csv) {
          writer.Text(p.name()).Text(p.scheme()).Text(p.financial_year()).Int(p.month());
          writer.Text(KindName(p.kind())).Number(Pounds(p.amount())).Text(p.reason());
          writer.Text(p.reverses()).Text(p.reversed_by()).Text(p.principal());
          writer.Time(absl::FromUnixSeconds(p.create_time().seconds()) +
                      absl::Nanoseconds(p.create_time().nanos()));
          writer.Text(p.request_id()).EndRow();
        } else {
          PrintPosting(p);
        }
      }
      // Written page by page, so a long export is not held in memory.
      out.stream() << writer.Take();
      if (response.next_page_token().empty()) return 0;
      request.set_page_token(response.next_page_token());
    }
  }

 private:
  int Send(const v1::CreatePostingRequest& request) {
    // Retry transport failures with the same request_id: the ledger makes it happen once.
    for (int attempt = 1;; ++attempt) {
      absl::StatusOr<v1::Posting> posting = client_->CreatePosting(request);
      if (posting.ok()) {
        PrintPosting(*posting);
        return 0;
      }
      const absl::Status& status = posting.status();
      if (!absl::IsUnavailable(status) || attempt == 3) {
        std::cerr << "request_id " << request.request_id() << " (retry with --request_id to "
                  << "post at most once)\n";
        return ReportError(status);
      }
    }
  }

  static void PrintPosting(const v1::Posting& p) {
    std::cout << p.name() << "  " << p.financial_year() << " M" << p.month() << "  "
              << KindName(p.kind()) << "  " << Display(p.amount()) << "  " << p.scheme();
    if (!p.reverses().empty()) std::cout << "  reverses " << p.reverses();
    if (!p.reversed_by().empty()) std::cout << "  reversed by " << p.reversed_by();
    std::cout << "\n    by " << p.principal() << "  request " << p.request_id()
              << (p.reason().empty() ? "" : "  reason: " + p.reason()) << "\n";
  }

  Connection connection_;
  std::unique_ptr<finance::FinanceClient> client_;
};

}  // namespace

int finance_cli::Usage() {
  std::cerr << kUsage;
  return 2;
}

int RunFinanceCommand(int argc, char** argv) {
  if (argc < 1) return Usage();
  const std::string command = argv[0];
  if (command == "help" || command == "--help") {
    std::cout << kUsage;
    return 0;
  }
  Args args(argc, argv, 0);
  absl::StatusOr<Connection> connection = Connect(args, "finance", kDefaultTarget);
  if (!connection.ok()) {
    std::cerr << connection.status().message() << "\n";
    return 2;
  }
  if (IsFinancePeriodCommand(command)) return RunFinancePeriodCommand(command, args, *connection);
  if (command == "import-postings") return RunImportPostings(args, *connection);
  const bool csv = args.Has("csv");
  Output out(args);
  if (!out.ok()) return 2;
  if (IsFinanceReportCommand(command)) {
    return RunFinanceReportCommand(command, args, *connection, out);
  }
  Finance finance(*std::move(connection));
  if (command == "plans") return finance.Plans();
  if (command == "schemes") return finance.Schemes(args);
  if (command == "set-scheme") return finance.SetScheme(args);
  if (command == "budget-lines") return finance.BudgetLines(args);
  if (command == "post") return finance.Post(args);
  if (command == "reverse") return finance.Reverse(args);
  if (command == "postings") return finance.Postings(args, csv, out);
  if (command == "export-postings") return finance.Postings(args, true, out);
  return Usage();
}

}  // namespace dorset::cli
