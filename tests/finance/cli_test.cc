// dorsetctl finance against a real in-process finance host: pounds in, pounds with two
// decimals out (CSV), strict refusal of fractions of a penny, and the report export.
#include <sys/wait.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/finance/finance_module.h"

namespace dorset::finance {
namespace {

struct Result {
  int exit_code = -1;
  std::string out;
};

class FinanceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host =
        runtime::ServiceHost::Start(dorset::testing::TestServerConfig("finance", dir_.path()),
                                    std::make_unique<FinanceModule>());
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }

  // Runs `dorsetctl finance <args> --target=...` and captures stdout.
  Result Run(const std::string& args) {
    const std::string command =
        absl::StrCat(DORSET_CTL_BINARY, " finance ", args,
                     " --target=127.0.0.1:", host_->grpc_port(), " 2>/dev/null");
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

  dorset::testing::TempDir dir_;
  std::unique_ptr<runtime::ServiceHost> host_;
};

constexpr char kRightcare[] = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";

TEST_F(FinanceCliTest, PostsPoundsAndExportsTwoDecimalCsv) {
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

  Result csv = Run("export-postings --year=2020-21");
  ASSERT_EQ(csv.exit_code, 0);
  std::vector<std::string> lines = absl::StrSplit(csv.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << csv.out;  // header + two postings
  EXPECT_EQ(lines[0].rfind("posting,scheme,financial_year,month,kind,amount_gbp,reason", 0), 0u);
  EXPECT_NE(lines[1].find(",ACTUAL,1234.50,\"keyed, with a comma\","), std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find(",PLAN,-0.07,"), std::string::npos) << lines[2];

  Result report = Run("export-report --year=2020-21 --month=2");
  ASSERT_EQ(report.exit_code, 0);
  std::vector<std::string> rows = absl::StrSplit(report.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 1u + 1 + 5 + 9);  // header, plan, programmes, schemes
  // plan: target 229m, ytd plan -0.07, actual 1234.50, variance 1234.57, no forecasts, so the
  // outturn is the actual; delivery floor(123450 x 10000 / -7) = -176,357,143 bp (floor goes
  // towards minus infinity) printed as a percentage -1763571.43.
  EXPECT_EQ(rows[1],
            "plans/dorset-stp,2020-21,2,plans/dorset-stp,0,Dorset Sustainability and "
            "Transformation Plan,229000000.00,-0.07,1234.50,1234.57,1234.50,-228998765.50,"
            "-1763571.43,RED,no");
}

TEST_F(FinanceCliTest, ServerErrorsExitNonZero) {
  Result bad = Run(absl::StrCat("post --scheme=", kRightcare,
                                " --year=2020-21 --month=13 --kind=actual --amount=1"));
  EXPECT_EQ(bad.exit_code, 1);
}

}  // namespace
}  // namespace dorset::finance
