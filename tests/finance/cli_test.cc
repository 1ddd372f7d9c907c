// dorsetctl finance against a real in-process finance host: pounds in, pounds with two
// decimals out (CSV), strict refusal of fractions of a penny, the report export, and (on each
// engine) the month-end close commands and the ledger check.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/finance/finance_module.h"
#include "tests/finance/month_close_fixture.h"

namespace dorset::finance {
namespace {

struct Result {
  int exit_code = -1;
  std::string out;
};

// Runs dorsetctl with `args` (stderr too when `with_stderr`).
Result RunCtl(const std::string& args, bool with_stderr = false) {
  const std::string command =
      absl::StrCat(DORSET_CTL_BINARY, " ", args, with_stderr ? " 2>&1" : " 2>/dev/null");
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// On each engine (…/sqlite, …/postgres), as the period and import cases below.
class FinanceCliTest : public ::testing::TestWithParam<runtime::storage::Engine> {
 protected:
  void SetUp() override {
    runtime::ServerConfig config = dorset::testing::TestServerConfig("finance", dir_.path());
    DORSET_DATABASE_FOR_ENGINE(GetParam(), config.database);
    auto host = runtime::ServiceHost::Start(config, std::make_unique<FinanceModule>());
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }

  // Runs `dorsetctl finance <args> --target=...` and captures stdout.
  Result Run(const std::string& args) {
    return RunCtl(absl::StrCat("finance ", args, " --target=127.0.0.1:", host_->grpc_port()));
  }

  dorset::testing::TempDir dir_;
  std::unique_ptr<runtime::ServiceHost> host_;
};

using testing::kRightcare;

TEST_P(FinanceCliTest, PostsPoundsAndExportsTwoDecimalCsv) {
  Result post = Run(absl::StrCat("post --scheme=", kRightcare,
                                 " --year=2020-21 --month=2 --kind=actual --amount=1,234.5"
                                 " --reason='keyed, with a comma' --request_id=cli-1"));
  ASSERT_EQ(post.exit_code, 0) << post.out;
  EXPECT_NE(post.out.find("\xC2\xA3"
                          "1,234.50"),
            std::string::npos)
      << post.out;
  // The same request_id again is a retry: still one posting.
  ASSERT_EQ(Run(absl::StrCat("post --scheme=", kRightcare,
                             " --year=2020-21 --month=2 --kind=actual --amount=1,234.5"
                             " --reason='keyed, with a comma' --request_id=cli-1"))
                .exit_code,
            0);
  ASSERT_EQ(Run(absl::StrCat("post --scheme=", kRightcare,
                             " --year=2020-21 --month=1 --kind=plan --amount=-0.07"))
                .exit_code,
            0);
  // A fraction of a penny never leaves the client.
  EXPECT_EQ(Run(absl::StrCat("post --scheme=", kRightcare,
                             " --year=2020-21 --month=2 --kind=actual --amount=0.001"))
                .exit_code,
            2);

  // A reason a spreadsheet would run as a formula.
  ASSERT_EQ(Run(absl::StrCat("post --scheme=", kRightcare,
                             " --year=2020-21 --month=3 --kind=plan --amount=2"
                             " --reason='=HYPERLINK(\"http://x\",\"y\")'"))
                .exit_code,
            0);

  Result csv = Run("export-postings --year=2020-21");
  ASSERT_EQ(csv.exit_code, 0);
  // CRLF line ends (RFC 4180), no byte order mark unless asked for.
  EXPECT_EQ(csv.out.rfind("posting,", 0), 0u);
  std::vector<std::string> lines = absl::StrSplit(csv.out, "\r\n", absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << csv.out;  // header + three postings
  EXPECT_EQ(lines[0],
            "posting,scheme,financial_year,month,kind,amount_gbp,reason,reverses,reversed_by,"
            "principal,create_time,request_id");
  EXPECT_NE(lines[1].find(",ACTUAL,1234.50,\"keyed, with a comma\","), std::string::npos)
      << lines[1];
  // A negative amount stays a number; the formula is neutralised with an apostrophe.
  EXPECT_NE(lines[2].find(",PLAN,-0.07,"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find(",PLAN,2.00,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","),
            std::string::npos)
      << lines[3];
  // ISO 8601 UTC create times.
  const std::vector<std::string> cells = absl::StrSplit(lines[2], ',');
  ASSERT_EQ(cells.size(), 12u) << lines[2];
  EXPECT_TRUE(std::regex_match(cells[10], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << cells[10];
  Result bom = Run("export-postings --year=2020-21 --bom");
  EXPECT_EQ(bom.out.rfind("\xEF\xBB\xBFposting,", 0), 0u);

  Result report = Run("export-report --year=2020-21 --month=2");
  ASSERT_EQ(report.exit_code, 0);
  std::vector<std::string> rows = absl::StrSplit(report.out, "\r\n", absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 1u + 1 + 5 + 9);  // header, plan, programmes, schemes
  // plan: target 229m, ytd plan -0.07, actual 1234.50, variance 1234.57, no forecasts, so the
  // outturn is the actual; delivery floor(123450 x 10000 / -7) = -176,357,143 bp (floor goes
  // towards minus infinity) printed as a percentage -1763571.43.
  EXPECT_EQ(rows[1],
            "plans/dorset-stp,2020-21,2,plans/dorset-stp,0,Dorset Sustainability and "
            "Transformation Plan,229000000.00,-0.07,1234.50,1234.57,1234.50,-228998765.50,"
            "-1763571.43,RED,no");
}

TEST_P(FinanceCliTest, ReportAndGapGroupBySchemeAttributes) {
  // The seed's nine schemes have no attributes recorded: one group, "(not recorded)".
  Result report = Run("report --year=2020-21 --month=2 --group_by=maturity");
  ASSERT_EQ(report.exit_code, 0) << report.out;
  EXPECT_NE(report.out.find("[(not recorded), 9 schemes]"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("unidentified: \xC2\xA3"
                            "0.00"),
            std::string::npos)
      << report.out;
  Result gap = Run("gap --group_by=senior_responsible_owner");
  ASSERT_EQ(gap.exit_code, 0) << gap.out;
  EXPECT_NE(gap.out.find("[(not recorded)]"), std::string::npos) << gap.out;
  EXPECT_NE(gap.out.find("unidentified"), std::string::npos) << gap.out;
  EXPECT_EQ(Run("report --year=2020-21 --month=2 --group_by=colour").exit_code, 2);

  // dorsetctl records the attributes; the groups follow.
  Result set =
      Run(absl::StrCat("set-scheme ", kRightcare,
                       " --recurrence=non-recurrent --maturity=unidentified --sro='A Owner'"));
  ASSERT_EQ(set.exit_code, 0) << set.out;
  EXPECT_NE(
      set.out.find("SAVING_RECURRENCE_NON_RECURRENT  SCHEME_MATURITY_UNIDENTIFIED  SRO A Owner"),
      std::string::npos)
      << set.out;
  Result schemes = Run("schemes");
  EXPECT_NE(schemes.out.find("SRO A Owner"), std::string::npos) << schemes.out;
  report = Run("report --year=2020-21 --month=2 --group_by=maturity");
  ASSERT_EQ(report.exit_code, 0) << report.out;
  EXPECT_NE(report.out.find("[(not recorded), 8 schemes]"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("[UNIDENTIFIED, 1 schemes]"), std::string::npos) << report.out;
  gap = Run("gap --group_by=senior_responsible_owner");
  EXPECT_NE(gap.out.find("[A Owner]"), std::string::npos) << gap.out;
  EXPECT_EQ(Run(absl::StrCat("set-scheme ", kRightcare)).exit_code, 2);
  EXPECT_EQ(Run(absl::StrCat("set-scheme ", kRightcare, " --maturity=ripe")).exit_code, 2);

  // Forecast quality through dorsetctl: a forecast back-loaded into M10-M12 is flagged, with
  // its reason, in the report it prints.
  for (int month : {10, 11, 12}) {
    ASSERT_EQ(Run(absl::StrCat("post --scheme=", kRightcare, " --year=2020-21 --month=", month,
                               " --kind=forecast --amount=1,000,000"))
                  .exit_code,
              0);
  }
  report = Run("report --year=2020-21 --month=2");
  ASSERT_EQ(report.exit_code, 0) << report.out;
  EXPECT_NE(report.out.find(absl::StrCat("flag BACK_LOADED  ", kRightcare, ": ")),
            std::string::npos)
      << report.out;
  EXPECT_NE(report.out.find("of the year's expected delivery falls in M10-M12"), std::string::npos)
      << report.out;
}

TEST_P(FinanceCliTest, ServerErrorsExitNonZero) {
  Result bad = Run(absl::StrCat("post --scheme=", kRightcare,
                                " --year=2020-21 --month=13 --kind=actual --amount=1"));
  EXPECT_EQ(bad.exit_code, 1);
}

// dorsetctl finance period ... and verify, on each engine, with tokens: an editor closes, only
// a finance admin reopens, verify exits 1 naming the first posting that does not match.
class FinanceCliPeriodTest : public testing::MonthCloseFixture {
 protected:
  Result Finance(const std::string& args, const char* token = testing::kEditor) {
    return RunCtl(absl::StrCat("finance ", args, " --target=127.0.0.1:", host_->grpc_port(),
                               " --token=", token),
                  /*with_stderr=*/true);
  }
};

TEST_P(FinanceCliPeriodTest, ClosesReopensAndVerifies) {
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 100);
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 200);
  Result list = Finance("period list --year=2020-21");
  ASSERT_EQ(list.exit_code, 0) << list.out;
  std::vector<std::string> rows = absl::StrSplit(list.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 12u) << list.out;
  EXPECT_EQ(rows[0].rfind("financialYears/2020-21/periods/1 ", 0), 0u) << rows[0];
  EXPECT_NE(rows[0].find("OPEN"), std::string::npos) << rows[0];

  // Out of order: the server's reason reaches the user, exit 1.
  Result early = Finance("period start-close financialYears/2020-21/periods/2");
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_NE(early.out.find("close 2020-21 M1 before 2020-21 M2"), std::string::npos) << early.out;
  Result start = Finance("period start-close financialYears/2020-21/periods/1");
  ASSERT_EQ(start.exit_code, 0) << start.out;
  EXPECT_NE(start.out.find("CLOSING"), std::string::npos) << start.out;
  Result close = Finance("period close --year=2020-21 --month=1");
  ASSERT_EQ(close.exit_code, 0) << close.out;
  EXPECT_NE(close.out.find("closed by finance-team  seal postings/2"), std::string::npos)
      << close.out;
  // Posting into the closed month is refused naming the period.
  Result late = Finance(absl::StrCat("post --scheme=", kRightcare,
                                     " --year=2020-21 --month=1 --kind=actual --amount=1"));
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_NE(late.out.find("financialYears/2020-21/periods/1"), std::string::npos) << late.out;

  Result verified = Finance("verify --year=2020-21", testing::kReader);
  EXPECT_EQ(verified.exit_code, 0) << verified.out;
  EXPECT_NE(verified.out.find("ledger verified: 2 postings, 1 seals"), std::string::npos)
      << verified.out;

  // Reopen: refused for the editor, needs a reason, done by the finance admin.
  Result editor = Finance("period reopen financialYears/2020-21/periods/1 --reason=late");
  EXPECT_EQ(editor.exit_code, 1);
  EXPECT_NE(editor.out.find("PERMISSION_DENIED"), std::string::npos) << editor.out;
  EXPECT_EQ(Finance("period reopen financialYears/2020-21/periods/1", testing::kAdmin).exit_code,
            1);
  Result reopen = Finance("period reopen financialYears/2020-21/periods/1 --reason='late invoice'",
                          testing::kAdmin);
  ASSERT_EQ(reopen.exit_code, 0) << reopen.out;
  EXPECT_NE(reopen.out.find("OPEN"), std::string::npos) << reopen.out;
  Result get = Finance("period get financialYears/2020-21/periods/1", testing::kReader);
  EXPECT_EQ(get.exit_code, 0) << get.out;
  EXPECT_NE(get.out.find("OPEN"), std::string::npos) << get.out;
  EXPECT_EQ(Finance("period frobnicate financialYears/2020-21/periods/1").exit_code, 2);

  // An edited row: verify exits 1 and names it.
  ASSERT_NO_FATAL_FAILURE(Tamper("UPDATE posting SET amount_pence = 999 WHERE id = 2"));
  Result broken = Finance("verify", testing::kReader);
  EXPECT_EQ(broken.exit_code, 1) << broken.out;
  EXPECT_NE(broken.out.find("LEDGER DOES NOT VERIFY"), std::string::npos) << broken.out;
  EXPECT_NE(broken.out.find("first posting that does not match: postings/2"), std::string::npos)
      << broken.out;
}

// dorsetctl finance import-postings FILE.csv on each engine: all lines or none, a rejection
// report by line (from the file's own checks and from the server's), safe to run again.
class FinanceCliImportTest : public FinanceCliPeriodTest {
 protected:
  std::string WriteCsv(const std::string& name, const std::string& text) {
    const std::string path = dir_.File(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  int Count() {
    v1::ListPostingsRequest request;
    request.set_financial_year("2020-21");
    request.set_page_size(1000);
    v1::ListPostingsResponse response;
    grpc::Status status = stub_->ListPostings(Ctx(testing::kReader).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.postings_size();
  }
};

TEST_P(FinanceCliImportTest, AFileIsPostedWholeOrNotAtAllAndOnlyOnce) {
  const std::string trust = "plans/dorset-stp/programmes/provider-efficiencies/schemes/trust-cips";
  // Excel's way: a byte order mark, CRLF, a quoted amount with a thousands comma, columns in
  // its own order.
  const std::string good = WriteCsv(
      "good.csv",
      absl::StrCat("\xEF\xBB\xBFkind,scheme,financial_year,month,amount_gbp,reason\r\n", "actual,",
                   kRightcare, ",2020-21,2,\"1,234.56\",\"M2, ledger\"\r\n", "plan,", kRightcare,
                   ",2020-21,2,-0.07,\r\n", "forecast,", trust, ",2020-21,9,400000,\r\n"));
  Result first = Finance(absl::StrCat("import-postings ", good));
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("imported 3 postings"), std::string::npos) << first.out;
  EXPECT_EQ(Count(), 3);
  // Again: the same request id, so nothing new.
  Result again = Finance(absl::StrCat("import-postings ", good));
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(Count(), 3);
  {
    v1::GetPostingRequest request;
    request.set_name("postings/1");
    v1::Posting posting;
    ASSERT_TRUE(stub_->GetPosting(Ctx(testing::kReader).get(), request, &posting).ok());
    EXPECT_EQ(posting.amount().pence(), 123456);
    EXPECT_EQ(posting.reason(), "M2, ledger");
    EXPECT_EQ(posting.request_id().rfind("import-", 0), 0u) << posting.request_id();
  }

  // Lines the file's own checks reject: every one named, nothing posted.
  const std::string bad = WriteCsv(
      "bad.csv", absl::StrCat("scheme,financial_year,month,kind,amount_gbp\n", kRightcare,
                              ",2020-21,3,actual,12.345\n", kRightcare, ",2020-21,3,actual,5\n",
                              kRightcare, ",2020-21,x,guess,5\n"));
  Result rejected = Finance(absl::StrCat("import-postings ", bad));
  EXPECT_EQ(rejected.exit_code, 1) << rejected.out;
  EXPECT_NE(rejected.out.find("nothing was posted"), std::string::npos) << rejected.out;
  EXPECT_NE(rejected.out.find("line 2: amount_gbp:"), std::string::npos) << rejected.out;
  EXPECT_NE(rejected.out.find("line 4: month:"), std::string::npos) << rejected.out;
  EXPECT_NE(rejected.out.find("line 4: kind:"), std::string::npos) << rejected.out;
  EXPECT_EQ(rejected.out.find("line 3"), std::string::npos) << rejected.out;
  EXPECT_EQ(Count(), 3);

  // A line the server refuses (month 13, index 1 of the batch): named by its line; the good
  // line before it is not posted either.
  const std::string server = WriteCsv(
      "server.csv", absl::StrCat("scheme,financial_year,month,kind,amount_gbp\n", kRightcare,
                                 ",2020-21,3,actual,5\n", kRightcare, ",2020-21,13,actual,5\n"));
  Result refused = Finance(absl::StrCat("import-postings ", server));
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("line 3: month:"), std::string::npos) << refused.out;
  EXPECT_EQ(Count(), 3);

  // A closed month: the period is named, nothing posted.
  ASSERT_NO_FATAL_FAILURE(CloseMonth(1));
  const std::string closed = WriteCsv(
      "closed.csv", absl::StrCat("scheme,financial_year,month,kind,amount_gbp\n", kRightcare,
                                 ",2020-21,4,actual,5\n", kRightcare, ",2020-21,1,actual,5\n"));
  Result late = Finance(absl::StrCat("import-postings ", closed));
  EXPECT_EQ(late.exit_code, 1) << late.out;
  EXPECT_NE(late.out.find("financialYears/2020-21/periods/1"), std::string::npos) << late.out;
  EXPECT_EQ(Count(), 3);
}

INSTANTIATE_TEST_SUITE_P(Engines, FinanceCliTest,
                         ::testing::Values(runtime::storage::Engine::kSqlite,
                                           runtime::storage::Engine::kPostgres),
                         [](const auto& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

INSTANTIATE_TEST_SUITE_P(Engines, FinanceCliImportTest,
                         ::testing::Values(runtime::storage::Engine::kSqlite,
                                           runtime::storage::Engine::kPostgres),
                         [](const auto& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

INSTANTIATE_TEST_SUITE_P(Engines, FinanceCliPeriodTest,
                         ::testing::Values(runtime::storage::Engine::kSqlite,
                                           runtime::storage::Engine::kPostgres),
                         [](const auto& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::finance
