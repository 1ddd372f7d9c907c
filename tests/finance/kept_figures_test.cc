// The plans' figures kept across posting groups (services/finance/storage/plan_figures.h): a
// posting group brings them up to date itself, every other write (a plan edit, a month's close)
// drops them. After each acknowledged write the report served equals one built afresh from the
// store (LoadPlanData then BuildReport); a repeated request_id and a refused posting change
// nothing; with writers and a reader at once, each report holds at least the postings
// acknowledged before it was asked for. GetScheme's reply outlives posting groups (kept per plan
// generation) and follows a scheme's edit. Both engines.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/finance/calendar.h"
#include "services/finance/finance_module.h"
#include "services/finance/storage/plan_figures.h"
#include "services/finance/storage/report.h"
#include "tests/finance/finance_test_util.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::finance {
namespace {

using runtime::storage::Engine;
using testing::MakePosting;

constexpr char kPlan[] = "plans/dorset-stp";
constexpr char kRightcare[] = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
constexpr char kYear[] = "2020-21";

class KeptFiguresTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    std::string database;
    DORSET_DATABASE_FOR_ENGINE(GetParam(), database);
    runtime::ServerConfig config = dorset::testing::TestServerConfig("finance", dir_.path());
    config.database = database;
    auto module = std::make_unique<FinanceModule>();
    module_ = module.get();
    auto host = runtime::ServiceHost::Start(config, std::move(module));
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    stub_ = v1::FinanceService::NewStub(dorset::testing::LocalChannel(host_->grpc_port()));
  }

  v1::Report Report(int month) {
    grpc::ClientContext context;
    v1::GetReportRequest request;
    request.set_name(absl::StrCat(kPlan, "/report"));
    request.set_financial_year(kYear);
    request.set_month(month);
    v1::Report report;
    const grpc::Status status = stub_->GetReport(&context, request, &report);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return report;
  }

  grpc::Status Post(const std::string& request_id, const v1::Posting& posting,
                    v1::Posting* out = nullptr) {
    grpc::ClientContext context;
    v1::CreatePostingRequest request;
    request.set_request_id(request_id);
    *request.mutable_posting() = posting;
    v1::Posting reply;
    const grpc::Status status = stub_->CreatePosting(&context, request, &reply);
    if (out != nullptr) *out = reply;
    return status;
  }

  int64_t Actual(const v1::Report& report, const std::string& node) {
    for (const v1::ReportLine& line : report.lines()) {
      if (line.node() == node) return line.ytd_actual().pence();
    }
    ADD_FAILURE() << node << " not in the report";
    return 0;
  }

  // The report served at `month` has every line's figures as a report built afresh from the
  // store now (nothing is written meanwhile).
  void ExpectFresh(int month) {
    const v1::Report served = Report(month);
    absl::StatusOr<PlanData> data = LoadPlanData(module_->store(), kPlan, 2020);
    ASSERT_TRUE(data.ok()) << data.status();
    absl::StatusOr<v1::Report> fresh = BuildReport(*data, 2020, month, RagBasisPoints{});
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    ASSERT_EQ(served.lines_size(), fresh->lines_size());
    for (int i = 0; i < fresh->lines_size(); ++i) {
      const v1::ReportLine& a = served.lines(i);
      const v1::ReportLine& b = fresh->lines(i);
      SCOPED_TRACE(b.node());
      EXPECT_EQ(a.node(), b.node());
      EXPECT_EQ(a.display_name(), b.display_name());
      EXPECT_EQ(a.annual_target().pence(), b.annual_target().pence());
      EXPECT_EQ(a.ytd_plan().pence(), b.ytd_plan().pence());
      EXPECT_EQ(a.ytd_actual().pence(), b.ytd_actual().pence());
      EXPECT_EQ(a.ytd_variance().pence(), b.ytd_variance().pence());
      EXPECT_EQ(a.forecast_outturn().pence(), b.forecast_outturn().pence());
      EXPECT_EQ(a.outturn_variance().pence(), b.outturn_variance().pence());
      EXPECT_EQ(a.rag(), b.rag());
      EXPECT_EQ(a.delivery_bp(), b.delivery_bp());
    }
  }
  void ExpectFresh() {
    for (int month : {1, 6, 12}) ExpectFresh(month);
  }

  v1::Scheme Scheme() {
    grpc::ClientContext context;
    v1::GetSchemeRequest request;
    request.set_name(kRightcare);
    v1::Scheme scheme;
    const grpc::Status status = stub_->GetScheme(&context, request, &scheme);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return scheme;
  }

  dorset::testing::TempDir dir_;
  FinanceModule* module_ = nullptr;
  std::unique_ptr<runtime::ServiceHost> host_;
  std::unique_ptr<v1::FinanceService::Stub> stub_;
};

TEST_P(KeptFiguresTest, ReportsFollowEveryAcknowledgedWrite) {
  ExpectFresh();
  // Kept from here: the groups below bring them up to date instead of a read per report.
  EXPECT_EQ(module_->store().figures().kept(), 1u);
  const v1::Scheme scheme = Scheme();

  // Postings of every kind, to months before and after the report's.
  const v1::PostingKind kinds[] = {v1::POSTING_KIND_ACTUAL, v1::POSTING_KIND_FORECAST,
                                   v1::POSTING_KIND_PLAN};
  v1::Posting first;
  for (int i = 0; i < 6; ++i) {
    v1::Posting out;
    const grpc::Status status = Post(
        absl::StrCat("kept-", i),
        MakePosting(kRightcare, kYear, 1 + (i * 5) % 12, kinds[i % 3], 1000 + i, "kept"), &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (i == 0) first = out;
    ExpectFresh();
    EXPECT_EQ(module_->store().figures().kept(), 1u);  // brought forward, not dropped
  }
  // GetScheme's reply is the same (and a posting group did not make it stale).
  EXPECT_EQ(Scheme().SerializeAsString(), scheme.SerializeAsString());

  // A repeated request_id (the first reply, nothing written) and a refused posting.
  {
    v1::Posting out;
    ASSERT_TRUE(Post("kept-0",
                     MakePosting(kRightcare, kYear, 1, v1::POSTING_KIND_ACTUAL, 1000, "kept"), &out)
                    .ok());
    EXPECT_EQ(out.name(), first.name());
    ExpectFresh();
    EXPECT_FALSE(Post("kept-refused", MakePosting("plans/dorset-stp/programmes/managing-demand/"
                                                  "schemes/none",
                                                  kYear, 1, v1::POSTING_KIND_ACTUAL, 5, "refused"))
                     .ok());
    ExpectFresh();
  }
  // A batch over two months and a reversal.
  {
    grpc::ClientContext context;
    v1::BatchCreatePostingsRequest request;
    request.set_request_id("kept-batch");
    *request.add_postings() = MakePosting(kRightcare, kYear, 2, v1::POSTING_KIND_ACTUAL, 7, "b");
    *request.add_postings() = MakePosting(kRightcare, kYear, 9, v1::POSTING_KIND_ACTUAL, 9, "b");
    v1::BatchCreatePostingsResponse response;
    const grpc::Status status = stub_->BatchCreatePostings(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ExpectFresh();
    ASSERT_TRUE(Post("kept-reversal", testing::Reversal(first.name(), "undo")).ok());
    ExpectFresh();
  }
  // A plan edit (FinanceStore::Write): the scheme's reply and the report follow it.
  {
    grpc::ClientContext context;
    v1::UpdateSchemeRequest update;
    update.mutable_scheme()->set_name(kRightcare);
    update.mutable_scheme()->set_etag(scheme.etag());
    update.mutable_scheme()->set_display_name("Renamed while kept");
    update.mutable_update_mask()->add_paths("display_name");
    v1::Scheme updated;
    const grpc::Status status = stub_->UpdateScheme(&context, update, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(Scheme().SerializeAsString(), updated.SerializeAsString());
    ExpectFresh();
    ASSERT_TRUE(
        Post("kept-after-edit", MakePosting(kRightcare, kYear, 3, v1::POSTING_KIND_ACTUAL, 11, "e"))
            .ok());
    ExpectFresh();
    EXPECT_EQ(Scheme().SerializeAsString(), updated.SerializeAsString());
  }
  // A month's close (its own transactions), then postings after it.
  {
    grpc::ClientContext start_context;
    v1::StartPeriodCloseRequest start;
    start.set_name("financialYears/2020-21/periods/1");
    v1::Period period;
    grpc::Status status = stub_->StartPeriodClose(&start_context, start, &period);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ExpectFresh();
    grpc::ClientContext close_context;
    v1::ClosePeriodRequest close;
    close.set_name("financialYears/2020-21/periods/1");
    status = stub_->ClosePeriod(&close_context, close, &period);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ExpectFresh(6);
    ASSERT_TRUE(Post("kept-after-close",
                     MakePosting(kRightcare, kYear, 4, v1::POSTING_KIND_ACTUAL, 13, "c"))
                    .ok());
    ExpectFresh(6);
  }

  // Writers and a reader at once: a report holds every posting acknowledged before it was asked.
  const int64_t before = Actual(Report(12), kRightcare);
  std::atomic<int> acknowledged{0};
  std::atomic<bool> writing{true};
  std::atomic<int> short_reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const grpc::Status status =
            Post(absl::StrCat("kept-", t, "-", i),
                 MakePosting(kRightcare, kYear, 5, v1::POSTING_KIND_ACTUAL, 1, "concurrent"));
        EXPECT_TRUE(status.ok()) << status.error_message();
        const int mine = acknowledged.fetch_add(1) + 1;
        if (Actual(Report(12), kRightcare) < before + mine) ++short_reads;
      }
    });
  }
  std::thread reader([&] {
    while (writing.load()) {
      const int seen = acknowledged.load();
      if (Actual(Report(12), kRightcare) < before + seen) ++short_reads;
    }
  });
  for (std::thread& t : threads) t.join();
  writing = false;
  reader.join();
  EXPECT_EQ(short_reads.load(), 0);
  EXPECT_EQ(Actual(Report(12), kRightcare), before + 40);
  ExpectFresh(6);
  ExpectFresh(12);
}

INSTANTIATE_TEST_SUITE_P(Engines, KeptFiguresTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return info.param == Engine::kSqlite ? "sqlite" : "postgres";
                         });

}  // namespace
}  // namespace dorset::finance
