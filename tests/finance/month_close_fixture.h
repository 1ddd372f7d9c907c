// The finance service on one engine (…/sqlite, …/postgres) with bearer tokens, reached over
// real gRPC, for the month-end close and ledger tests: posting, the period RPCs, reports,
// VerifyLedger, and tampering with the store as someone with database access would.
#ifndef DORSET_TESTS_FINANCE_MONTH_CLOSE_FIXTURE_H_
#define DORSET_TESTS_FINANCE_MONTH_CLOSE_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/finance/finance_module.h"
#include "services/finance/ledger_chain.h"
#include "services/finance/posting_input.h"
#include "services/finance/storage/store.h"
#include "services/finance/storage/verify.h"
#include "tests/finance/finance_test_util.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::finance::testing {

inline constexpr char kStp[] = "plans/dorset-stp";
inline constexpr char kYear[] = "2020-21";
inline constexpr int kYearNumber = 2020;
inline constexpr char kRightcare[] =
    "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
inline constexpr char kTrust[] =
    "plans/dorset-stp/programmes/provider-efficiencies/schemes/trust-cips";

// Bearer tokens of the fixture's principals.
inline constexpr char kEditor[] = "editor-secret";  // finance-team, finance-editor
inline constexpr char kAdmin[] = "admin-secret";    // finance-boss, finance-admin
inline constexpr char kReader[] = "reader-secret";  // alice, reader

inline std::string MonthPeriod(int month) {
  return absl::StrCat("financialYears/", kYear, "/periods/", month);
}

class MonthCloseFixture : public ::testing::TestWithParam<runtime::storage::Engine> {
 protected:
  void SetUp() override {
    DORSET_DATABASE_FOR_ENGINE(GetParam(), database_);
    dorset::testing::WriteTokensFile(dir_.File("tokens"),
                                     {{kReader, "alice", "reader"},
                                      {kEditor, "finance-team", "finance-editor"},
                                      {kAdmin, "finance-boss", "finance-admin"}});
    StartHost();
  }

  void StartHost() {
    runtime::ServerConfig config = dorset::testing::TestServerConfig("finance", dir_.path());
    config.database = database_;
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = dir_.File("tokens");
    auto module = std::make_unique<FinanceModule>();
    module_ = module.get();
    auto host = runtime::ServiceHost::Start(config, std::move(module));
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    stub_ = v1::FinanceService::NewStub(dorset::testing::LocalChannel(host_->grpc_port()));
  }
  void Restart() {
    stub_.reset();
    host_.reset();
    StartHost();
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const char* token = kEditor) {
    auto context = std::make_unique<grpc::ClientContext>();
    dorset::testing::AddBearer(*context, token);
    return context;
  }

  grpc::Status Post(const v1::Posting& posting, v1::Posting* out = nullptr) {
    v1::CreatePostingRequest request;
    request.set_request_id(absl::StrCat("mc-", ++request_counter_));
    *request.mutable_posting() = posting;
    v1::Posting response;
    grpc::Status status = stub_->CreatePosting(Ctx().get(), request, &response);
    if (out != nullptr) *out = response;
    return status;
  }
  int64_t PostOk(const std::string& scheme, int month, v1::PostingKind kind, int64_t pence) {
    v1::Posting out;
    grpc::Status status = Post(MakePosting(scheme, kYear, month, kind, pence, "test"), &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    absl::StatusOr<int64_t> id = ParsePostingName(out.name(), "name");
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }

  v1::Report Report(int month, int green_bp = 0) {
    v1::GetReportRequest request;
    request.set_name(absl::StrCat(kStp, "/report"));
    request.set_financial_year(kYear);
    request.set_month(month);
    request.mutable_thresholds()->set_green_min_bp(green_bp);
    v1::Report report;
    grpc::Status status = stub_->GetReport(Ctx(kReader).get(), request, &report);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return report;
  }

  // The period RPCs.
  grpc::Status StartClose(int month, v1::Period* out = nullptr, const char* token = kEditor) {
    v1::StartPeriodCloseRequest request;
    request.set_name(MonthPeriod(month));
    v1::Period period;
    grpc::Status status = stub_->StartPeriodClose(Ctx(token).get(), request, &period);
    if (out != nullptr) *out = period;
    return status;
  }
  grpc::Status Close(int month, v1::Period* out = nullptr, const char* token = kEditor) {
    v1::ClosePeriodRequest request;
    request.set_name(MonthPeriod(month));
    v1::Period period;
    grpc::Status status = stub_->ClosePeriod(Ctx(token).get(), request, &period);
    if (out != nullptr) *out = period;
    return status;
  }
  grpc::Status Reopen(int month, const std::string& reason, const char* token = kAdmin,
                      v1::Period* out = nullptr) {
    v1::ReopenPeriodRequest request;
    request.set_name(MonthPeriod(month));
    request.set_reason(reason);
    v1::Period period;
    grpc::Status status = stub_->ReopenPeriod(Ctx(token).get(), request, &period);
    if (out != nullptr) *out = period;
    return status;
  }
  std::vector<v1::Period> Periods() {
    v1::ListPeriodsRequest request;
    request.set_parent(absl::StrCat("financialYears/", kYear));
    v1::ListPeriodsResponse response;
    grpc::Status status = stub_->ListPeriods(Ctx(kReader).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.periods().begin(), response.periods().end()};
  }

  // StartPeriodClose then ClosePeriod over gRPC.
  void CloseMonth(int month) {
    v1::Period period;
    grpc::Status started = StartClose(month, &period);
    ASSERT_TRUE(started.ok()) << started.error_message();
    EXPECT_EQ(period.state(), v1::Period::STATE_CLOSING);
    grpc::Status closed = Close(month, &period);
    ASSERT_TRUE(closed.ok()) << closed.error_message();
    EXPECT_EQ(period.state(), v1::Period::STATE_CLOSED);
    EXPECT_EQ(period.closed_by(), "finance-team");
    EXPECT_EQ(period.sealed_head_hash().size(), 64u);
  }

  // VerifyLedger over gRPC, as LedgerVerification (posting names back to ids).
  LedgerVerification Verify() {
    v1::VerifyLedgerRequest request;
    v1::VerifyLedgerResponse response;
    grpc::Status status = stub_->VerifyLedger(Ctx(kReader).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    LedgerVerification out;
    out.postings_checked = response.postings_checked();
    out.seals_checked = response.seals_checked();
    out.first_mismatch = PostingId(response.first_mismatch());
    for (const v1::LedgerFinding& f : response.findings()) {
      out.findings.push_back(LedgerFinding{
          .posting_id = PostingId(f.posting()), .period = f.period(), .problem = f.problem()});
    }
    EXPECT_EQ(response.ok(), out.findings.empty());
    return out;
  }
  static int64_t PostingId(const std::string& name) {
    if (name.empty()) return 0;
    absl::StatusOr<int64_t> id = ParsePostingName(name, "posting");
    EXPECT_TRUE(id.ok()) << name;
    return id.ok() ? *id : -1;
  }

  // What someone with write access to the database can do: turn the immutability triggers
  // off and change rows.
  void Tamper(const std::string& sql) {
    const bool sqlite = GetParam() == runtime::storage::Engine::kSqlite;
    const std::string off =
        sqlite ? "DROP TRIGGER IF EXISTS posting_no_update; "
                 "DROP TRIGGER IF EXISTS posting_chain_no_update; "
                 "DROP TRIGGER IF EXISTS posting_chain_no_delete;"
               : "ALTER TABLE posting DISABLE TRIGGER posting_no_update; "
                 "ALTER TABLE posting_chain DISABLE TRIGGER posting_chain_no_update;";
    absl::Status status = module_->store().Write([&](Transaction& tx) -> absl::Status {
      if (absl::Status s = tx.Exec(off); !s.ok()) return s;
      return tx.Exec(sql);
    });
    ASSERT_TRUE(status.ok()) << status;
  }

  dorset::testing::TempDir dir_;
  std::string database_;
  FinanceModule* module_ = nullptr;
  std::unique_ptr<runtime::ServiceHost> host_;
  std::unique_ptr<v1::FinanceService::Stub> stub_;
  int request_counter_ = 0;
};

}  // namespace dorset::finance::testing

#endif  // DORSET_TESTS_FINANCE_MONTH_CLOSE_FIXTURE_H_
