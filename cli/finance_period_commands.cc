// dorsetctl finance's month-end close and ledger check (docs/finance.md "Month-end close",
// "Tamper-evident ledger"):
//
//   dorsetctl finance period list --year=2020-21
//   dorsetctl finance period get financialYears/2020-21/periods/3
//   dorsetctl finance period start-close financialYears/2020-21/periods/3
//   dorsetctl finance period close financialYears/2020-21/periods/3
//   dorsetctl finance period reopen financialYears/2020-21/periods/3 --reason="late invoice"
//   dorsetctl finance verify [--year=2020-21]      (exit 1 when the ledger does not verify)
// A period may also be given as --year=2020-21 --month=3.
#include "cli/finance_period_commands.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/cli_common.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "services/finance/client/finance_client.h"

namespace dorset::cli {
namespace {

namespace v1 = dorset::finance::v1;

std::string StateName(v1::Period::State state) {
  switch (state) {
    case v1::Period::STATE_OPEN:
      return "OPEN";
    case v1::Period::STATE_CLOSING:
      return "CLOSING";
    case v1::Period::STATE_CLOSED:
      return "CLOSED";
    default:
      return "UNSPECIFIED";
  }
}

void PrintPeriod(const v1::Period& p) {
  std::cout << absl::StrFormat("%-36s %-8s", p.name(), StateName(p.state()));
  if (p.state() == v1::Period::STATE_CLOSED) {
    std::cout << "  closed by " << p.closed_by() << "  seal "
              << (p.sealed_head().empty() ? std::string("(no postings)") : p.sealed_head()) << " "
              << p.sealed_head_hash().substr(0, 16);
  }
  std::cout << "\n";
}

}  // namespace

bool IsFinancePeriodCommand(const std::string& command) {
  return command == "period" || command == "verify";
}

int RunFinancePeriodCommand(const std::string& command, const Args& args,
                            const Connection& connection) {
  auto client = finance::FinanceClient::ForChannel(connection.channel, ClientOptionsOf(connection));
  if (command == "verify") {
    v1::VerifyLedgerRequest request;
    request.set_financial_year(args.GetOr("year", ""));
    absl::StatusOr<v1::VerifyLedgerResponse> reply = client->VerifyLedger(request);
    if (!reply.ok()) return ReportError(reply.status());
    const v1::VerifyLedgerResponse& response = *reply;
    std::cout << (response.ok() ? "ledger verified" : "LEDGER DOES NOT VERIFY") << ": "
              << response.postings_checked() << " postings, " << response.seals_checked()
              << " seals\n";
    if (!response.first_mismatch().empty()) {
      std::cout << "first posting that does not match: " << response.first_mismatch() << "\n";
    }
    for (const v1::LedgerFinding& f : response.findings()) std::cout << "  " << f.problem() << "\n";
    return response.ok() ? 0 : 1;
  }
  const std::vector<std::string>& words = args.positional();
  const std::string action = words.size() > 1 ? words[1] : "";
  if (action == "list") {
    v1::ListPeriodsRequest request;
    request.set_parent(absl::StrCat("financialYears/", args.GetOr("year", "")));
    absl::StatusOr<v1::ListPeriodsResponse> reply = client->ListPeriods(request);
    if (!reply.ok()) return ReportError(reply.status());
    const v1::ListPeriodsResponse& response = *reply;
    for (const v1::Period& p : response.periods()) PrintPeriod(p);
    return 0;
  }
  // The period: a name, or --year and --month.
  std::string name = words.size() > 2 ? words[2] : "";
  if (name.empty() && args.Has("year") && args.Has("month")) {
    name = absl::StrCat("financialYears/", args.GetOr("year", ""), "/periods/",
                        args.GetOr("month", ""));
  }
  if (name.empty() ||
      (action != "get" && action != "start-close" && action != "close" && action != "reopen")) {
    std::cerr << "usage: dorsetctl finance period list --year=YYYY-YY\n"
                 "       dorsetctl finance period get|start-close|close|reopen "
                 "financialYears/YYYY-YY/periods/N [--reason=TEXT]\n"
                 "       (or --year=YYYY-YY --month=N instead of the name; reopen needs "
                 "--reason)\n";
    return 2;
  }
  absl::StatusOr<v1::Period> period;
  if (action == "get") {
    v1::GetPeriodRequest request;
    request.set_name(name);
    period = client->GetPeriod(request);
  } else if (action == "start-close") {
    v1::StartPeriodCloseRequest request;
    request.set_name(name);
    period = client->StartPeriodClose(request);
  } else if (action == "close") {
    v1::ClosePeriodRequest request;
    request.set_name(name);
    period = client->ClosePeriod(request);
  } else {
    v1::ReopenPeriodRequest request;
    request.set_name(name);
    request.set_reason(args.GetOr("reason", ""));
    period = client->ReopenPeriod(request);
  }
  if (!period.ok()) return ReportError(period.status());
  PrintPeriod(*period);
  return 0;
}

}  // namespace dorset::cli
