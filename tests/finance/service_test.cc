// The finance service over real gRPC with a real store, on each engine (…/sqlite and
// …/postgres, a fresh PostgreSQL database per test): the seed plan, a hand-worked report, the
// ledger's exactly-once guarantees under concurrent retries, reversals and refusals of bad
// input.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "runtime/auth/permissions.h"
#include "runtime/server/service_host.h"
#include "runtime/status/status_macros.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/finance/calendar.h"
#include "services/finance/finance_module.h"
#include "services/finance/limits.h"
#include "services/finance/storage/ledger.h"
#include "services/finance/storage/posting_committer.h"
#include "services/finance/storage/seed.h"
#include "services/finance/storage/store.h"
#include "services/finance/storage/verify.h"
#include "tests/finance/finance_test_util.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::finance {
namespace {

using runtime::storage::Engine;
using testing::MakePosting;
using testing::Reversal;
using testing::ViolationField;

constexpr char kStp[] = "plans/dorset-stp";

class FinanceServiceTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    DORSET_DATABASE_FOR_ENGINE(GetParam(), database_);
    StartHost();
  }

  void StartHost() {
    runtime::ServerConfig config = dorset::testing::TestServerConfig("finance", dir_.path());
    config.database = database_;
    auto host = runtime::ServiceHost::Start(config, std::make_unique<FinanceModule>());
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    stub_ = v1::FinanceService::NewStub(dorset::testing::LocalChannel(host_->grpc_port()));
  }

  grpc::Status Post(const std::string& request_id, const v1::Posting& posting,
                    v1::Posting* out = nullptr) {
    grpc::ClientContext context;
    v1::CreatePostingRequest request;
    request.set_request_id(request_id);
    *request.mutable_posting() = posting;
    v1::Posting response;
    grpc::Status status = stub_->CreatePosting(&context, request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  grpc::Status Batch(const std::string& request_id, const std::vector<v1::Posting>& postings,
                     v1::BatchCreatePostingsResponse* out = nullptr) {
    grpc::ClientContext context;
    v1::BatchCreatePostingsRequest request;
    request.set_request_id(request_id);
    for (const auto& p : postings) *request.add_postings() = p;
    v1::BatchCreatePostingsResponse response;
    grpc::Status status = stub_->BatchCreatePostings(&context, request, &response);
    if (out != nullptr) *out = response;
    return status;
  }

  v1::Report Report(const std::string& plan, const std::string& year, int month) {
    grpc::ClientContext context;
    v1::GetReportRequest request;
    request.set_name(absl::StrCat(plan, "/report"));
    request.set_financial_year(year);
    request.set_month(month);
    v1::Report report;
    grpc::Status status = stub_->GetReport(&context, request, &report);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return report;
  }

  std::vector<v1::Posting> AllPostings(const std::string& node = "") {
    std::vector<v1::Posting> out;
    v1::ListPostingsRequest request;
    request.set_node(node);
    request.set_page_size(1000);
    while (true) {
      grpc::ClientContext context;
      v1::ListPostingsResponse response;
      grpc::Status status = stub_->ListPostings(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const auto& p : response.postings()) out.push_back(p);
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return out;
  }

  // A small plan: programme a (schemes a1, a2) and programme b (scheme b1).
  void CreateSmallPlan(const std::string& plan_id) {
    grpc::ClientContext c1;
    v1::CreatePlanRequest plan;
    plan.set_plan_id(plan_id);
    plan.mutable_plan()->set_display_name("Test plan");
    v1::Plan created;
    ASSERT_TRUE(stub_->CreatePlan(&c1, plan, &created).ok());
    for (const auto& [programme, schemes] : std::map<std::string, std::map<std::string, int64_t>>{
             {"a", {{"a1", 12000000}, {"a2", 6000000}}}, {"b", {{"b1", -1200000}}}}) {
      grpc::ClientContext c2;
      v1::CreateProgrammeRequest request;
      request.set_parent("plans/" + plan_id);
      request.set_programme_id(programme);
      request.mutable_programme()->set_display_name("Programme " + programme);
      v1::Programme p;
      ASSERT_TRUE(stub_->CreateProgramme(&c2, request, &p).ok());
      for (const auto& [scheme, target] : schemes) {
        grpc::ClientContext c3;
        v1::CreateSchemeRequest sr;
        sr.set_parent(p.name());
        sr.set_scheme_id(scheme);
        sr.mutable_scheme()->set_display_name("Scheme " + scheme);
        v1::YearAmount* t = sr.mutable_scheme()->add_targets();
        t->set_financial_year("2018-19");
        t->mutable_amount()->set_pence(target);
        v1::Scheme s;
        grpc::Status status = stub_->CreateScheme(&c3, sr, &s);
        ASSERT_TRUE(status.ok()) << status.error_message();
      }
    }
  }

  static std::string Scheme(const std::string& plan, const std::string& programme,
                            const std::string& scheme) {
    return absl::StrCat("plans/", plan, "/programmes/", programme, "/schemes/", scheme);
  }

  dorset::testing::TempDir dir_;
  std::string database_;  // empty: SQLite under dir_
  std::unique_ptr<runtime::ServiceHost> host_;
  std::unique_ptr<v1::FinanceService::Stub> stub_;
};

INSTANTIATE_TEST_SUITE_P(Engines, FinanceServiceTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

const v1::ReportLine& Line(const v1::Report& report, const std::string& node) {
  for (const auto& line : report.lines()) {
    if (line.node() == node) return line;
  }
  static const v1::ReportLine* missing = new v1::ReportLine();
  ADD_FAILURE() << "no report line for " << node;
  return *missing;
}

TEST_P(FinanceServiceTest, SeedPlanAddsUpToTwoHundredAndTwentyNineMillion) {
  const v1::Report report = Report(kStp, "2020-21", 12);
  const std::map<std::string, int64_t> programmes = {{"managing-demand", 8300000000},
                                                     {"provider-efficiencies", 10000000000},
                                                     {"community-reinvestment", -1600000000},
                                                     {"stretch-target", 3400000000},
                                                     {"national-programmes", 2800000000}};
  const v1::ReportLine& plan = Line(report, kStp);
  EXPECT_EQ(plan.annual_target().pence(), 22900000000);
  int64_t sum_of_programmes = 0;
  int schemes = 0;
  for (const auto& [id, pence] : programmes) {
    const std::string name = absl::StrCat(kStp, "/programmes/", id);
    EXPECT_EQ(Line(report, name).annual_target().pence(), pence) << id;
    sum_of_programmes += Line(report, name).annual_target().pence();
    int64_t sum_of_schemes = 0;
    for (const auto& line : report.lines()) {
      if (line.kind() == v1::NODE_KIND_SCHEME && line.node().rfind(name + "/schemes/", 0) == 0) {
        sum_of_schemes += line.annual_target().pence();
        ++schemes;
      }
    }
    EXPECT_EQ(sum_of_schemes, pence) << id;
  }
  EXPECT_EQ(sum_of_programmes, 22900000000);
  EXPECT_EQ(schemes, 9);
  EXPECT_EQ(Line(report, absl::StrCat(kStp, "/programmes/managing-demand/schemes/rightcare"))
                .annual_target()
                .pence(),
            2800000000);

  // The plan resource derives the same target, and the seed's budget line is marked.
  grpc::ClientContext c;
  v1::GetPlanRequest get;
  get.set_name(kStp);
  v1::Plan stp;
  ASSERT_TRUE(stub_->GetPlan(&c, get, &stp).ok());
  ASSERT_EQ(stp.targets_size(), 1);
  EXPECT_EQ(stp.targets(0).financial_year(), "2020-21");
  EXPECT_EQ(stp.targets(0).amount().pence(), 22900000000);
  grpc::ClientContext c2;
  v1::ListBudgetLinesResponse lines;
  ASSERT_TRUE(stub_->ListBudgetLines(&c2, v1::ListBudgetLinesRequest(), &lines).ok());
  ASSERT_EQ(lines.budget_lines_size(), 1);
  EXPECT_EQ(lines.budget_lines(0).amount().pence(), 120000000000);
  EXPECT_TRUE(lines.budget_lines(0).illustrative());
}

TEST_P(FinanceServiceTest, SeedLoadsOnceAcrossRestarts) {
  host_.reset();
  StartHost();
  grpc::ClientContext c;
  v1::ListSchemesRequest request;
  request.set_parent(kStp);
  v1::ListSchemesResponse schemes;
  ASSERT_TRUE(stub_->ListSchemes(&c, request, &schemes).ok());
  EXPECT_EQ(schemes.schemes_size(), 9);
  EXPECT_EQ(Line(Report(kStp, "2020-21", 1), kStp).annual_target().pence(), 22900000000);
}

// Worked by hand at M3 of 2018-19 (figures in pence):
//   a1: target 12,000,000; plan 3 x 1,000,000; actual 900,000 + 1,050,000 + 900,001 (a wrong
//       50,000 posted and reversed in M3); forecast M4..M12 9 x 1,000,000; a forecast for M2
//       (already past) is ignored; an actual in M4 is not year to date.
//       -> ytd plan 3,000,000, actual 2,850,001, variance -149,999, outturn 11,850,001,
//          delivery 9500.003% -> 9500 bp GREEN.
//   a2: target 6,000,000; plan 3 x 500,000; actual 3 x 400,000; forecast 9 x 450,000
//       -> plan 1,500,000, actual 1,200,000, outturn 5,250,000, 8000 bp RED.
//   a (programme): target 18,000,000, plan 4,500,000, actual 4,050,001, variance -449,999,
//       outturn 17,100,001, 9000 bp AMBER.
//   b1 = b: target -1,200,000; plan 3 x -100,000; actual 2 x -100,000; forecast 9 x -100,000
//       -> plan -300,000, actual -200,000, variance +100,000, outturn -1,100,000, 6666 bp RED.
//   plan: target 16,800,000, plan 4,200,000, actual 3,850,001, variance -349,999,
//       outturn 16,000,001, outturn variance -799,999, 9166 bp AMBER.
TEST_P(FinanceServiceTest, ReportRollsUpExactlyForAHandWorkedExample) {
  CreateSmallPlan("worked");
  const std::string a1 = Scheme("worked", "a", "a1");
  const std::string a2 = Scheme("worked", "a", "a2");
  const std::string b1 = Scheme("worked", "b", "b1");
  const std::string y = "2018-19";
  std::vector<v1::Posting> postings;
  for (int m = 1; m <= 3; ++m) {
    postings.push_back(MakePosting(a1, y, m, v1::POSTING_KIND_PLAN, 1000000));
    postings.push_back(MakePosting(a2, y, m, v1::POSTING_KIND_PLAN, 500000));
    postings.push_back(MakePosting(b1, y, m, v1::POSTING_KIND_PLAN, -100000));
    postings.push_back(MakePosting(a2, y, m, v1::POSTING_KIND_ACTUAL, 400000));
  }
  postings.push_back(MakePosting(a1, y, 1, v1::POSTING_KIND_ACTUAL, 900000));
  postings.push_back(MakePosting(a1, y, 2, v1::POSTING_KIND_ACTUAL, 1050000));
  postings.push_back(MakePosting(a1, y, 3, v1::POSTING_KIND_ACTUAL, 900001));
  postings.push_back(MakePosting(a1, y, 4, v1::POSTING_KIND_ACTUAL, 9900));
  postings.push_back(MakePosting(a1, y, 2, v1::POSTING_KIND_FORECAST, 77700));
  postings.push_back(MakePosting(b1, y, 1, v1::POSTING_KIND_ACTUAL, -100000));
  postings.push_back(MakePosting(b1, y, 2, v1::POSTING_KIND_ACTUAL, -100000));
  for (int m = 4; m <= 12; ++m) {
    postings.push_back(MakePosting(a1, y, m, v1::POSTING_KIND_FORECAST, 1000000));
    postings.push_back(MakePosting(a2, y, m, v1::POSTING_KIND_FORECAST, 450000));
    postings.push_back(MakePosting(b1, y, m, v1::POSTING_KIND_FORECAST, -100000));
  }
  ASSERT_TRUE(Batch("worked-1", postings).ok());
  v1::Posting wrong;
  ASSERT_TRUE(
      Post("worked-2", MakePosting(a1, y, 3, v1::POSTING_KIND_ACTUAL, 50000, "keyed twice"), &wrong)
          .ok());
  ASSERT_TRUE(Post("worked-3", Reversal(wrong.name(), "duplicate of M3 actual")).ok());

  const v1::Report report = Report("plans/worked", y, 3);
  struct Expected {
    std::string node;
    int64_t target, plan, actual, variance, outturn, outturn_variance;
    v1::Rag rag;
    int32_t bp;
  };
  const std::vector<Expected> expected = {
      {a1, 12000000, 3000000, 2850001, -149999, 11850001, -149999, v1::RAG_GREEN, 9500},
      {a2, 6000000, 1500000, 1200000, -300000, 5250000, -750000, v1::RAG_RED, 8000},
      {"plans/worked/programmes/a", 18000000, 4500000, 4050001, -449999, 17100001, -899999,
       v1::RAG_AMBER, 9000},
      {b1, -1200000, -300000, -200000, 100000, -1100000, 100000, v1::RAG_RED, 6666},
      {"plans/worked/programmes/b", -1200000, -300000, -200000, 100000, -1100000, 100000,
       v1::RAG_RED, 6666},
      {"plans/worked", 16800000, 4200000, 3850001, -349999, 16000001, -799999, v1::RAG_AMBER, 9166},
  };
  for (const Expected& e : expected) {
    const v1::ReportLine& line = Line(report, e.node);
    EXPECT_EQ(line.annual_target().pence(), e.target) << e.node;
    EXPECT_EQ(line.ytd_plan().pence(), e.plan) << e.node;
    EXPECT_EQ(line.ytd_actual().pence(), e.actual) << e.node;
    EXPECT_EQ(line.ytd_variance().pence(), e.variance) << e.node;
    EXPECT_EQ(line.forecast_outturn().pence(), e.outturn) << e.node;
    EXPECT_EQ(line.outturn_variance().pence(), e.outturn_variance) << e.node;
    EXPECT_EQ(line.rag(), e.rag) << e.node;
    EXPECT_EQ(line.delivery_bp(), e.bp) << e.node;
  }
  // Depth-first order: plan, a, a1, a2, b, b1.
  ASSERT_EQ(report.lines_size(), 6);
  EXPECT_EQ(report.lines(0).node(), "plans/worked");
  EXPECT_EQ(report.lines(1).node(), "plans/worked/programmes/a");
  EXPECT_EQ(report.lines(4).node(), "plans/worked/programmes/b");

  // Thresholds are part of the request: at 9,600 bp green, a1 (9,500) is amber.
  grpc::ClientContext c;
  v1::GetReportRequest strict;
  strict.set_name("plans/worked/report");
  strict.set_financial_year(y);
  strict.set_month(3);
  strict.mutable_thresholds()->set_green_min_bp(9600);
  v1::Report strict_report;
  ASSERT_TRUE(stub_->GetReport(&c, strict, &strict_report).ok());
  EXPECT_EQ(Line(strict_report, a1).rag(), v1::RAG_AMBER);
  EXPECT_EQ(strict_report.thresholds().green_min_bp(), 9600);
  EXPECT_EQ(strict_report.thresholds().amber_min_bp(), 8500);

  // The gap trajectory as at M3 2018-19: gap 16,800,000; actual 3,850,001; forecasts after M3
  // 9 x (1,000,000 + 450,000 - 100,000) = 12,150,000.
  grpc::ClientContext c2;
  v1::GetGapTrajectoryRequest gap_request;
  gap_request.set_name("plans/worked/gapTrajectory");
  gap_request.set_as_of_financial_year(y);
  gap_request.set_as_of_month(3);
  v1::GapTrajectory gap;
  ASSERT_TRUE(stub_->GetGapTrajectory(&c2, gap_request, &gap).ok());
  ASSERT_EQ(gap.years_size(), 5);
  EXPECT_EQ(gap.years(2).financial_year(), y);
  EXPECT_EQ(gap.years(2).gap().pence(), 16800000);
  EXPECT_EQ(gap.years(2).actual().pence(), 3850001);
  EXPECT_EQ(gap.years(2).forecast_delivery().pence(), 16000001);
  EXPECT_EQ(gap.years(2).unmitigated().pence(), 799999);
  EXPECT_EQ(gap.name(), "plans/worked/gapTrajectory");
  EXPECT_EQ(gap.plan(), "plans/worked");
  EXPECT_EQ(strict_report.name(), "plans/worked/report");
  EXPECT_EQ(strict_report.plan(), "plans/worked");
}

// Issue 14: the report, gap trajectory and per-head figures are AIP singletons of a plan
// (plans/{plan}/report, ...): a name that is not one is INVALID_ARGUMENT naming `name`.
TEST_P(FinanceServiceTest, SingletonNamesAreChecked) {
  for (const std::string name : {"plans/worked", "", "plans/worked/gapTrajectory", "plans//report",
                                 "plan/worked/report", "plans/worked/report/x"}) {
    grpc::ClientContext c;
    v1::GetReportRequest request;
    request.set_name(name);
    request.set_financial_year("2018-19");
    request.set_month(3);
    v1::Report report;
    grpc::Status status = stub_->GetReport(&c, request, &report);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    EXPECT_NE(status.error_message().find("name"), std::string::npos) << status.error_message();
  }
  grpc::ClientContext c;
  v1::GetGapTrajectoryRequest gap_request;
  gap_request.set_name("plans/worked/report");
  v1::GapTrajectory gap;
  EXPECT_EQ(stub_->GetGapTrajectory(&c, gap_request, &gap).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext c2;
  v1::GetPerHeadFiguresRequest per_head;
  per_head.set_name("plans/worked");
  per_head.set_financial_year("2018-19");
  v1::PerHeadFigures figures;
  EXPECT_EQ(stub_->GetPerHeadFigures(&c2, per_head, &figures).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A well-formed name of a plan that does not exist is NOT_FOUND, as before.
  grpc::ClientContext c3;
  v1::GetReportRequest missing;
  missing.set_name("plans/no-such-plan/report");
  missing.set_financial_year("2018-19");
  missing.set_month(3);
  v1::Report report;
  EXPECT_EQ(stub_->GetReport(&c3, missing, &report).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(FinanceServiceTest, RetryReturnsTheFirstResultAndConflictingContentIsRefused) {
  const std::string scheme = absl::StrCat(kStp, "/programmes/managing-demand/schemes/outpatients");
  v1::Posting first, again;
  ASSERT_TRUE(
      Post("once", MakePosting(scheme, "2019-20", 1, v1::POSTING_KIND_ACTUAL, 12345), &first).ok());
  ASSERT_TRUE(
      Post("once", MakePosting(scheme, "2019-20", 1, v1::POSTING_KIND_ACTUAL, 12345), &again).ok());
  EXPECT_EQ(first.name(), again.name());
  EXPECT_EQ(first.create_time().seconds(), again.create_time().seconds());
  EXPECT_EQ(first.principal(), "anonymous");
  EXPECT_EQ(first.request_id(), "once");

  grpc::Status conflict =
      Post("once", MakePosting(scheme, "2019-20", 1, v1::POSTING_KIND_ACTUAL, 12346));
  EXPECT_EQ(conflict.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(AllPostings(scheme).size(), 1u);

  // A batch retried returns the same postings; a batch reusing a single's id is a conflict.
  v1::BatchCreatePostingsResponse b1, b2;
  std::vector<v1::Posting> two = {MakePosting(scheme, "2019-20", 2, v1::POSTING_KIND_ACTUAL, 1),
                                  MakePosting(scheme, "2019-20", 3, v1::POSTING_KIND_ACTUAL, 2)};
  ASSERT_TRUE(Batch("batch-once", two, &b1).ok());
  ASSERT_TRUE(Batch("batch-once", two, &b2).ok());
  ASSERT_EQ(b1.postings_size(), 2);
  EXPECT_EQ(b1.postings(1).name(), b2.postings(1).name());
  EXPECT_EQ(Batch("once", two).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(AllPostings(scheme).size(), 3u);
}

TEST_P(FinanceServiceTest, ConcurrentClientsWithOverlappingRequestIdsPostEachOnce) {
  const std::vector<std::string> schemes = {
      absl::StrCat(kStp, "/programmes/managing-demand/schemes/rightcare"),
      absl::StrCat(kStp, "/programmes/provider-efficiencies/schemes/trust-cips"),
      absl::StrCat(kStp, "/programmes/community-reinvestment/schemes/community-reinvestment")};
  constexpr int kIds = 300;
  constexpr int kThreads = 8;
  constexpr int kPostsPerThread = 300;
  // Request k always carries the same content, so every retry is a true retry.
  const auto posting_for = [&](int k) {
    return MakePosting(schemes[k % 3], "2019-20", k % 12 + 1, v1::POSTING_KIND_ACTUAL,
                       (k % 2 ? -1 : 1) * (k + 1));
  };
  std::vector<std::map<int, std::string>> seen(kThreads);  // per thread: id -> posting name
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPostsPerThread; ++i) {
        const int k = (i * 7 + t * 13) % kIds;  // threads overlap heavily
        v1::Posting out;
        grpc::Status status = Post(absl::StrCat("rid-", k), posting_for(k), &out);
        if (!status.ok()) {
          ++failures;
          continue;
        }
        auto [it, inserted] = seen[t].emplace(k, out.name());
        if (!inserted && it->second != out.name()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  // Every thread saw the same posting for the same request_id.
  std::map<int, std::string> names;
  for (const auto& per_thread : seen) {
    for (const auto& [k, name] : per_thread) {
      auto [it, inserted] = names.emplace(k, name);
      EXPECT_EQ(it->second, name) << k;
    }
  }
  const std::vector<v1::Posting> ledger = AllPostings();
  std::set<std::string> request_ids;
  int64_t ledger_sum = 0;
  for (const auto& p : ledger) {
    EXPECT_TRUE(request_ids.insert(p.request_id()).second) << p.request_id();
    ledger_sum += p.amount().pence();
  }
  EXPECT_EQ(ledger.size(), names.size());
  int64_t expected_sum = 0;
  for (const auto& [k, name] : names) expected_sum += posting_for(k).amount().pence();
  EXPECT_EQ(ledger_sum, expected_sum);
  // The report (from the incrementally kept totals) agrees with the ledger.
  EXPECT_EQ(Line(Report(kStp, "2019-20", 12), kStp).ytd_actual().pence(), ledger_sum);
}

TEST_P(FinanceServiceTest, ReversalsCorrectAndCannotBeRepeatedOrReversed) {
  const std::string scheme =
      absl::StrCat(kStp, "/programmes/stretch-target/schemes/stretch-target");
  v1::Posting original, reversal;
  ASSERT_TRUE(
      Post("r-1", MakePosting(scheme, "2020-21", 5, v1::POSTING_KIND_ACTUAL, 250000), &original)
          .ok());
  ASSERT_TRUE(Post("r-2", Reversal(original.name(), "posted to the wrong month"), &reversal).ok());
  EXPECT_EQ(reversal.amount().pence(), -250000);
  EXPECT_EQ(reversal.scheme(), scheme);
  EXPECT_EQ(reversal.month(), 5);
  EXPECT_EQ(reversal.kind(), v1::POSTING_KIND_ACTUAL);
  EXPECT_EQ(reversal.reverses(), original.name());

  grpc::ClientContext c;
  v1::GetPostingRequest get;
  get.set_name(original.name());
  v1::Posting reread;
  ASSERT_TRUE(stub_->GetPosting(&c, get, &reread).ok());
  EXPECT_EQ(reread.reversed_by(), reversal.name());
  EXPECT_EQ(reread.amount().pence(), 250000);  // the original is never edited

  grpc::Status twice = Post("r-3", Reversal(original.name(), "again"));
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  grpc::Status of_reversal = Post("r-4", Reversal(reversal.name(), "undo the undo"));
  EXPECT_EQ(of_reversal.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // Two reversals of one posting inside one batch: refused as a whole.
  v1::Posting other;
  ASSERT_TRUE(
      Post("r-5", MakePosting(scheme, "2020-21", 6, v1::POSTING_KIND_ACTUAL, 1), &other).ok());
  EXPECT_EQ(Batch("r-6", {Reversal(other.name(), "x"), Reversal(other.name(), "y")}).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Post("r-7", Reversal("postings/999999", "missing")).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // A reversal names what it reverses and nothing else.
  v1::Posting mixed = Reversal(other.name(), "x");
  mixed.mutable_amount()->set_pence(5);
  grpc::Status mixed_status = Post("r-8", mixed);
  EXPECT_EQ(mixed_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolationField(mixed_status), "posting.reverses");

  EXPECT_EQ(Line(Report(kStp, "2020-21", 12), scheme).ytd_actual().pence(), 1);
  EXPECT_EQ(AllPostings(scheme).size(), 3u);
}

TEST_P(FinanceServiceTest, BadInputIsRefusedWithTheRightStatusAndField) {
  const std::string scheme = absl::StrCat(kStp, "/programmes/managing-demand/schemes/outpatients");
  struct Case {
    std::string what;
    v1::Posting posting;
    grpc::StatusCode code;
    std::string field;
  };
  v1::Posting fractional = MakePosting(scheme, "2019-20", 1, v1::POSTING_KIND_ACTUAL, 0);
  fractional.clear_amount();
  fractional.set_amount_decimal("12.345");
  v1::Posting decimal_ok = fractional;
  decimal_ok.set_amount_decimal("-1,234.56");
  v1::Posting both = MakePosting(scheme, "2019-20", 1, v1::POSTING_KIND_ACTUAL, 5);
  both.set_amount_decimal("0.05");
  v1::Posting huge_decimal = fractional;
  huge_decimal.set_amount_decimal("100000000000000000");
  const std::vector<Case> cases = {
      {"unknown scheme", MakePosting(scheme + "-nope", "2019-20", 1, v1::POSTING_KIND_ACTUAL, 1),
       grpc::StatusCode::NOT_FOUND, ""},
      {"a programme is not a scheme",
       MakePosting(absl::StrCat(kStp, "/programmes/managing-demand"), "2019-20", 1,
                   v1::POSTING_KIND_ACTUAL, 1),
       grpc::StatusCode::NOT_FOUND, ""},
      {"month 13", MakePosting(scheme, "2019-20", 13, v1::POSTING_KIND_ACTUAL, 1),
       grpc::StatusCode::INVALID_ARGUMENT, "posting.month"},
      {"month 0", MakePosting(scheme, "2019-20", 0, v1::POSTING_KIND_ACTUAL, 1),
       grpc::StatusCode::INVALID_ARGUMENT, "posting.month"},
      {"year outside the plan", MakePosting(scheme, "2021-22", 1, v1::POSTING_KIND_ACTUAL, 1),
       grpc::StatusCode::INVALID_ARGUMENT, "posting.financial_year"},
      {"malformed year", MakePosting(scheme, "2019-21", 1, v1::POSTING_KIND_ACTUAL, 1),
       grpc::StatusCode::INVALID_ARGUMENT, "posting.financial_year"},
      {"no kind", MakePosting(scheme, "2019-20", 1, v1::POSTING_KIND_UNSPECIFIED, 1),
       grpc::StatusCode::INVALID_ARGUMENT, "posting.kind"},
      {"fractional pence", fractional, grpc::StatusCode::INVALID_ARGUMENT,
       "posting.amount_decimal"},
      {"amount twice", both, grpc::StatusCode::INVALID_ARGUMENT, "posting.amount"},
      {"decimal beyond int64", huge_decimal, grpc::StatusCode::INVALID_ARGUMENT,
       "posting.amount_decimal"},
  };
  int n = 0;
  for (const Case& c : cases) {
    grpc::Status status = Post(absl::StrCat("bad-", n++), c.posting);
    EXPECT_EQ(status.error_code(), c.code) << c.what << ": " << status.error_message();
    if (!c.field.empty()) {
      EXPECT_EQ(ViolationField(status), c.field) << c.what;
    }
  }
  EXPECT_EQ(Post("", MakePosting(scheme, "2019-20", 1, v1::POSTING_KIND_ACTUAL, 1)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::Posting parsed;
  ASSERT_TRUE(Post("decimal-ok", decimal_ok, &parsed).ok());
  EXPECT_EQ(parsed.amount().pence(), -123456);
  EXPECT_TRUE(parsed.amount_decimal().empty());

  // Beyond the bounds (limits_test.cc has the rest): the monthly total would leave ±10^13.
  ASSERT_TRUE(
      Post("big", MakePosting(scheme, "2017-18", 1, v1::POSTING_KIND_ACTUAL, 10'000'000'000'000))
          .ok());
  grpc::Status overflow =
      Post("big-2", MakePosting(scheme, "2017-18", 1, v1::POSTING_KIND_ACTUAL, 1));
  EXPECT_EQ(overflow.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolationField(overflow), "posting.amount");

  // A batch is all or nothing: the bad second posting names its index; nothing is posted.
  const size_t before = AllPostings().size();
  grpc::Status batch =
      Batch("bad-batch", {MakePosting(scheme, "2019-20", 1, v1::POSTING_KIND_ACTUAL, 1),
                          MakePosting(scheme, "2019-20", 13, v1::POSTING_KIND_ACTUAL, 1)});
  EXPECT_EQ(batch.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolationField(batch), "postings[1].month");
  grpc::Status late = Batch(
      "bad-batch-2", {MakePosting(scheme, "2019-20", 1, v1::POSTING_KIND_ACTUAL, 1),
                      MakePosting(scheme + "-nope", "2019-20", 1, v1::POSTING_KIND_ACTUAL, 1)});
  EXPECT_EQ(late.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(AllPostings().size(), before);

  // A closed scheme keeps its postings but takes no more.
  grpc::ClientContext close_context;
  v1::CloseSchemeRequest close;
  close.set_name(scheme);
  v1::Scheme closed;
  ASSERT_TRUE(stub_->CloseScheme(&close_context, close, &closed).ok());
  EXPECT_EQ(closed.state(), v1::Scheme::STATE_CLOSED);
  grpc::Status after_close =
      Post("closed", MakePosting(scheme, "2019-20", 2, v1::POSTING_KIND_ACTUAL, 1));
  EXPECT_EQ(after_close.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(AllPostings(scheme).size(), 2u);
}

TEST_P(FinanceServiceTest, SchemeEditsUseEtagsAndClosedSchemesRefuseEdits) {
  CreateSmallPlan("edits");
  const std::string a1 = Scheme("edits", "a", "a1");
  grpc::ClientContext c1;
  v1::GetSchemeRequest get;
  get.set_name(a1);
  v1::Scheme scheme;
  ASSERT_TRUE(stub_->GetScheme(&c1, get, &scheme).ok());
  v1::UpdateSchemeRequest update;
  *update.mutable_scheme() = scheme;
  update.mutable_scheme()->clear_targets();
  v1::YearAmount* t = update.mutable_scheme()->add_targets();
  t->set_financial_year("2019-20");
  t->mutable_amount()->set_pence(777);
  update.mutable_update_mask()->add_paths("targets");
  v1::Scheme updated;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->UpdateScheme(&c2, update, &updated).ok());
  ASSERT_EQ(updated.targets_size(), 1);
  EXPECT_NE(updated.etag(), scheme.etag());
  // The one etag format of every service (runtime/storage/etag.h): W/"<revision>".
  EXPECT_EQ(scheme.etag(), "W/\"1\"");
  EXPECT_EQ(updated.etag(), "W/\"2\"");
  grpc::ClientContext c3;
  EXPECT_EQ(stub_->UpdateScheme(&c3, update, &updated).error_code(), grpc::StatusCode::ABORTED);
  // Another spelling (finance's older bare "2") is not an etag: INVALID_ARGUMENT, not ABORTED.
  update.mutable_scheme()->set_etag("2");
  grpc::ClientContext c3b;
  EXPECT_EQ(stub_->UpdateScheme(&c3b, update, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // The programme's derived target follows.
  grpc::ClientContext c4;
  v1::GetProgrammeRequest gp;
  gp.set_name("plans/edits/programmes/a");
  v1::Programme programme;
  ASSERT_TRUE(stub_->GetProgramme(&c4, gp, &programme).ok());
  ASSERT_EQ(programme.targets_size(), 2);  // 2018-19 from a2, 2019-20 from a1
  EXPECT_EQ(programme.targets(1).amount().pence(), 777);
}

TEST_P(FinanceServiceTest, ListPostingsFiltersAndPagesWithSignedTokens) {
  const std::string rightcare = absl::StrCat(kStp, "/programmes/managing-demand/schemes/rightcare");
  const std::string cips =
      absl::StrCat(kStp, "/programmes/provider-efficiencies/schemes/trust-cips");
  std::vector<v1::Posting> postings;
  for (int m = 1; m <= 6; ++m) {
    postings.push_back(MakePosting(rightcare, "2019-20", m, v1::POSTING_KIND_ACTUAL, m));
    postings.push_back(MakePosting(rightcare, "2019-20", m, v1::POSTING_KIND_FORECAST, 10 * m));
    postings.push_back(MakePosting(cips, "2019-20", m, v1::POSTING_KIND_ACTUAL, 100 * m));
  }
  ASSERT_TRUE(Batch("list-1", postings).ok());

  // Actuals under the managing-demand programme, two per page: 6 postings, 3 pages, in order.
  v1::ListPostingsRequest request;
  request.set_node(absl::StrCat(kStp, "/programmes/managing-demand"));
  request.set_kind(v1::POSTING_KIND_ACTUAL);
  request.set_page_size(2);
  std::vector<int64_t> amounts;
  int pages = 0;
  std::string second_token;
  while (true) {
    grpc::ClientContext context;
    v1::ListPostingsResponse response;
    ASSERT_TRUE(stub_->ListPostings(&context, request, &response).ok());
    ++pages;
    for (const auto& p : response.postings()) amounts.push_back(p.amount().pence());
    if (response.next_page_token().empty()) break;
    if (pages == 1) second_token = response.next_page_token();
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(amounts, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));

  // A token cannot be replayed against a wider query.
  v1::ListPostingsRequest wider;
  wider.set_page_size(2);
  wider.set_page_token(second_token);
  grpc::ClientContext c1;
  v1::ListPostingsResponse r1;
  grpc::Status replay = stub_->ListPostings(&c1, wider, &r1);
  EXPECT_EQ(replay.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolationField(replay), "page_token");

  // Month filter over the whole plan: month 4 has three postings.
  v1::ListPostingsRequest month;
  month.set_node(kStp);
  month.set_month(4);
  grpc::ClientContext c2;
  v1::ListPostingsResponse r2;
  ASSERT_TRUE(stub_->ListPostings(&c2, month, &r2).ok());
  EXPECT_EQ(r2.postings_size(), 3);
  v1::ListPostingsRequest bad_month;
  bad_month.set_month(13);
  grpc::ClientContext c3;
  EXPECT_EQ(stub_->ListPostings(&c3, bad_month, &r2).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_P(FinanceServiceTest, BudgetLinesAreUserDefinedWithEtags) {
  grpc::ClientContext c1;
  v1::CreateBudgetLineRequest create;
  create.set_budget_line_id("acute-contracts");
  create.mutable_budget_line()->set_display_name("Acute contracts");
  create.mutable_budget_line()->set_financial_year("2020-21");
  create.mutable_budget_line()->mutable_amount()->set_pence(61234567890);
  v1::BudgetLine line;
  ASSERT_TRUE(stub_->CreateBudgetLine(&c1, create, &line).ok());
  EXPECT_EQ(line.name(), "budgetLines/acute-contracts");
  EXPECT_FALSE(line.illustrative());
  grpc::ClientContext c2;
  EXPECT_EQ(stub_->CreateBudgetLine(&c2, create, &line).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  v1::UpdateBudgetLineRequest update;
  *update.mutable_budget_line() = line;
  update.mutable_budget_line()->mutable_amount()->set_pence(61234567891);
  update.mutable_update_mask()->add_paths("amount");
  v1::BudgetLine updated;
  grpc::ClientContext c3;
  ASSERT_TRUE(stub_->UpdateBudgetLine(&c3, update, &updated).ok());
  EXPECT_EQ(updated.amount().pence(), 61234567891);
  grpc::ClientContext c4;
  EXPECT_EQ(stub_->UpdateBudgetLine(&c4, update, &updated).error_code(),
            grpc::StatusCode::ABORTED);  // stale etag
  update.mutable_update_mask()->add_paths("financial_year");
  grpc::ClientContext c5;
  EXPECT_EQ(stub_->UpdateBudgetLine(&c5, update, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext c6;
  v1::ListBudgetLinesRequest list;
  list.set_financial_year("2020-21");
  v1::ListBudgetLinesResponse lines;
  ASSERT_TRUE(stub_->ListBudgetLines(&c6, list, &lines).ok());
  EXPECT_EQ(lines.budget_lines_size(), 2);  // the seed's illustrative line and this one
}

// With bearer tokens: a reader can read but not post; an editor's postings carry its principal.
TEST(FinanceAuthTest, PostingNeedsFinanceWriteAndRecordsThePrincipal) {
  dorset::testing::TempDir dir;
  runtime::ServerConfig config = dorset::testing::TestServerConfig("finance", dir.path());
  config.auth = runtime::AuthMode::kTokens;
  config.tokens_file = dir.File("tokens");
  dorset::testing::WriteTokensFile(config.tokens_file,
                                   {{"reader-secret", "alice", "reader"},
                                    {"editor-secret", "finance-team", "finance-editor"},
                                    {"other-secret", "other-team", "finance-editor"}});
  auto host = runtime::ServiceHost::Start(config, std::make_unique<FinanceModule>());
  ASSERT_TRUE(host.ok()) << host.status();
  auto stub = v1::FinanceService::NewStub(dorset::testing::LocalChannel((*host)->grpc_port()));
  v1::CreatePostingRequest request;
  request.set_request_id("auth-1");
  *request.mutable_posting() =
      MakePosting(absl::StrCat(kStp, "/programmes/managing-demand/schemes/rightcare"), "2020-21", 1,
                  v1::POSTING_KIND_ACTUAL, 100);
  v1::Posting posting;
  {
    grpc::ClientContext context;
    dorset::testing::AddBearer(context, "reader-secret");
    EXPECT_EQ(stub->CreatePosting(&context, request, &posting).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext context;
    EXPECT_EQ(stub->CreatePosting(&context, request, &posting).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    dorset::testing::AddBearer(context, "editor-secret");
    ASSERT_TRUE(stub->CreatePosting(&context, request, &posting).ok());
    EXPECT_EQ(posting.principal(), "finance-team");
  }
  {
    // The principal is part of the request's content: another editor reusing the request_id
    // is a conflict, not a retry that would hand it finance-team's posting.
    grpc::ClientContext context;
    dorset::testing::AddBearer(context, "other-secret");
    EXPECT_EQ(stub->CreatePosting(&context, request, &posting).error_code(),
              grpc::StatusCode::ALREADY_EXISTS);
  }
  {
    // The reader can read the report, which counts the editor's posting.
    grpc::ClientContext context;
    dorset::testing::AddBearer(context, "reader-secret");
    v1::GetReportRequest report_request;
    report_request.set_name(absl::StrCat(kStp, "/report"));
    report_request.set_financial_year("2020-21");
    report_request.set_month(1);
    v1::Report report;
    ASSERT_TRUE(stub->GetReport(&context, report_request, &report).ok());
    EXPECT_EQ(report.lines(0).ytd_actual().pence(), 100);
  }
}

// Every FinanceService method is in the permission table; reads (and VerifyLedger) need
// finance read, ReopenPeriod finance admin, the rest finance write.
TEST(FinancePermissionsTest, EveryMethodIsListedWithTheRightPermission) {
  const auto* service = v1::FinanceService::service_full_name();
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  ASSERT_NE(descriptor, nullptr);
  ASSERT_GT(descriptor->method_count(), 20);
  for (int i = 0; i < descriptor->method_count(); ++i) {
    const std::string& method = descriptor->method(i)->name();
    const std::optional<runtime::Permission> permission =
        runtime::RequiredPermission(absl::StrCat("/", service, "/", method));
    ASSERT_TRUE(permission.has_value()) << method;
    const bool read =
        method.rfind("Get", 0) == 0 || method.rfind("List", 0) == 0 || method == "VerifyLedger";
    runtime::Permission expected =
        read ? runtime::Permission::kFinanceRead : runtime::Permission::kFinanceWrite;
    // Reopening a month undoes a sign-off: finance-admin only.
    if (method == "ReopenPeriod") expected = runtime::Permission::kFinanceAdmin;
    EXPECT_EQ(*permission, expected) << method;
  }
}

// The content hash is stored in every request record and decides whether a reused request_id
// is a retry: its bytes never change. A fixed vector computed outside this code (Python's
// hashlib over the documented canonical form).
TEST(CalendarTest, FinancialYearsAreFormattedAsBefore) {
  EXPECT_EQ(FormatFinancialYear(2020), "2020-21");
  EXPECT_EQ(FormatFinancialYear(1999), "1999-00");
  for (int year = -3; year <= 10003; ++year) {
    EXPECT_EQ(FormatFinancialYear(year), absl::StrFormat("%04d-%02d", year, (year + 1) % 100))
        << year;
  }
}

TEST(PostingInputTest, ContentHashIsTheDocumentedBytes) {
  google::protobuf::RepeatedPtrField<v1::Posting> postings;
  *postings.Add() = MakePosting("plans/dorset-stp/programmes/managing-demand/schemes/rightcare",
                                "2019-20", 4, v1::POSTING_KIND_ACTUAL, -4200, "r1");
  *postings.Add() = Reversal("postings/17", "undo \u00a3");
  auto batch = ParsePostings("id-1", "tester", postings, false);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->content_hash,
            "dbd16f65df38f8217045a6b6a30689f9bd4d2ab08e439091e08bb997953ed28e");
}

// Two requests with one request_id in the same group commit (same SQLite transaction): the
// second sees the first's record and returns its postings.
TEST(LedgerWriterTest, SameRequestIdTwiceInOneTransactionPostsOnce) {
  dorset::testing::TempDir dir;
  auto store = FinanceStore::Open("", dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(LoadSeedOnce(**store).ok());
  google::protobuf::RepeatedPtrField<v1::Posting> postings;
  *postings.Add() = MakePosting("plans/dorset-stp/programmes/managing-demand/schemes/rightcare",
                                "2019-20", 4, v1::POSTING_KIND_ACTUAL, 42);
  auto batch = ParsePostings("same", "tester", postings, true);
  ASSERT_TRUE(batch.ok());
  absl::Status written = (*store)->Write([&](Transaction& tx) -> absl::Status {
    auto writer = LedgerWriter::Create(tx);
    EXPECT_TRUE(writer.ok());
    auto first = (*writer)->Apply(*batch);
    auto second = (*writer)->Apply(*batch);
    EXPECT_TRUE(first.ok() && second.ok());
    EXPECT_EQ((*first)[0].name(), (*second)[0].name());
    return absl::OkStatus();
  });
  ASSERT_TRUE(written.ok()) << written;
  absl::Status read = (*store)->Read([&](Transaction& tx) -> absl::Status {
    auto count = tx.Prepare("SELECT COUNT(*), SUM(amount_pence) FROM posting");
    EXPECT_TRUE(count.ok() && *count->Step());
    EXPECT_EQ(count->Int(0), 1);
    EXPECT_EQ(count->Int(1), 42);
    return absl::OkStatus();
  });
  ASSERT_TRUE(read.ok()) << read;
}

// As the group committer writes a group: Check and Write per request, one Flush at the end. The
// request records are kept until Flush, yet a request_id repeated inside the group is answered
// from its kept record (same request: the first postings; other content: ALREADY_EXISTS), a
// refused request leaves no record, and every record is written exactly once.
TEST(LedgerWriterTest, AGroupsRecordsAreKeptUntilFlushAndSeenByTheGroup) {
  dorset::testing::TempDir dir;
  auto store = FinanceStore::Open("", dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(LoadSeedOnce(**store).ok());
  const std::string scheme = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
  const auto batch_of = [&](const std::string& id, const std::string& who, int64_t pence) {
    google::protobuf::RepeatedPtrField<v1::Posting> postings;
    *postings.Add() = MakePosting(scheme, "2019-20", 5, v1::POSTING_KIND_ACTUAL, pence);
    auto batch = ParsePostings(id, who, postings, true);
    EXPECT_TRUE(batch.ok()) << batch.status();
    return *batch;
  };
  const PostingBatch first = batch_of("g-1", "tester", 100);
  const PostingBatch retry = batch_of("g-1", "tester", 100);
  const PostingBatch other_content = batch_of("g-1", "tester", 999);
  const PostingBatch other_caller = batch_of("g-1", "mallory", 100);
  const PostingBatch second = batch_of("g-2", "tester", 7);
  PostingBatch refused = batch_of("g-3", "tester", 5);
  refused.postings[0].scheme = "plans/dorset-stp/programmes/managing-demand/schemes/none";
  const PostingBatch after_refusal = batch_of("g-3", "tester", 5);
  absl::Status written = (*store)->Write([&](Transaction& tx) -> absl::Status {
    auto writer = LedgerWriter::Create(tx);
    EXPECT_TRUE(writer.ok());
    const auto apply = [&](const PostingBatch& b) -> absl::StatusOr<std::vector<v1::Posting>> {
      auto checked = (*writer)->Check(b);
      if (!checked.ok()) return checked.status();
      return (*writer)->Write(b, *checked);
    };
    auto a = apply(first);
    EXPECT_TRUE(a.ok()) << a.status();
    auto again = apply(retry);
    EXPECT_TRUE(again.ok()) << again.status();
    EXPECT_EQ((*a)[0].name(), (*again)[0].name());
    EXPECT_EQ(apply(other_content).status().code(), absl::StatusCode::kAlreadyExists);
    EXPECT_EQ(apply(other_caller).status().code(), absl::StatusCode::kAlreadyExists);
    EXPECT_TRUE(apply(second).ok());
    EXPECT_EQ(apply(refused).status().code(), absl::StatusCode::kNotFound);
    EXPECT_TRUE(apply(after_refusal).ok());
    return (*writer)->Flush();
  });
  ASSERT_TRUE(written.ok()) << written;
  absl::Status read = (*store)->Read([&](Transaction& tx) -> absl::Status {
    auto postings = tx.Prepare("SELECT COUNT(*), SUM(amount_pence) FROM posting");
    EXPECT_TRUE(postings.ok() && *postings->Step());
    EXPECT_EQ(postings->Int(0), 3);
    EXPECT_EQ(postings->Int(1), 100 + 7 + 5);
    auto records = tx.Prepare(
        "SELECT COUNT(*), COUNT(DISTINCT request_id), MIN(request_id), MAX(request_id) FROM "
        "idempotency_records");
    EXPECT_TRUE(records.ok() && *records->Step());
    EXPECT_EQ(records->Int(0), 3);
    EXPECT_EQ(records->Int(1), 3);
    EXPECT_EQ(records->Text(2), "g-1");
    EXPECT_EQ(records->Text(3), "g-3");
    return absl::OkStatus();
  });
  ASSERT_TRUE(read.ok()) << read;
}

// A group writes each total once (Flush) and keeps the group's running totals in memory:
// the bound on a total must see the requests written before it in the same transaction, a
// refused request must change nothing, and the stored total must be the sum of the postings.
TEST(LedgerWriterTest, AGroupKeepsItsTotalsInMemoryAndWritesEachOnce) {
  dorset::testing::TempDir dir;
  auto store = FinanceStore::Open("", dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(LoadSeedOnce(**store).ok());
  const std::string scheme = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
  const auto batch_of = [&](const std::string& id, int64_t pence) {
    google::protobuf::RepeatedPtrField<v1::Posting> postings;
    *postings.Add() = MakePosting(scheme, "2018-19", 3, v1::POSTING_KIND_ACTUAL, pence);
    auto batch = ParsePostings(id, "tester", postings, true);
    EXPECT_TRUE(batch.ok()) << batch.status();
    return *batch;
  };
  const PostingBatch near_bound = batch_of("a", kMaxTotalPence - 10);
  const PostingBatch over = batch_of("b", 20);
  const PostingBatch small = batch_of("c", 5);
  const PostingBatch again = batch_of("d", 3);
  absl::Status written = (*store)->Write([&](Transaction& tx) -> absl::Status {
    auto writer = LedgerWriter::Create(tx);
    EXPECT_TRUE(writer.ok());
    auto first = (*writer)->Check(near_bound);
    EXPECT_TRUE(first.ok()) << first.status();
    EXPECT_TRUE((*writer)->Write(near_bound, *first).ok());
    // Not yet in the store, but the bound sees it.
    auto refused = (*writer)->Check(over);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
    EXPECT_TRUE(absl::StrContains(refused.status().message(), "total would leave"));
    auto third = (*writer)->Check(small);
    EXPECT_TRUE(third.ok()) << third.status();
    EXPECT_TRUE((*writer)->Write(small, *third).ok());
    EXPECT_TRUE((*writer)->Flush().ok());
    // A request after a flush in the same transaction still counts from the group's total.
    auto fourth = (*writer)->Apply(again);
    EXPECT_TRUE(fourth.ok()) << fourth.status();
    return absl::OkStatus();
  });
  ASSERT_TRUE(written.ok()) << written;
  absl::Status read = (*store)->Read([&](Transaction& tx) -> absl::Status {
    auto total = tx.Prepare(
        "SELECT t.amount_pence FROM total t JOIN node n ON n.id = t.scheme_id WHERE n.name = ? "
        "AND t.year = 2018 AND t.month = 3 AND t.kind = ?");
    EXPECT_TRUE(total.ok());
    total->Bind(1, scheme).Bind(2, static_cast<int64_t>(v1::POSTING_KIND_ACTUAL));
    EXPECT_TRUE(*total->Step());
    EXPECT_EQ(total->Int(0), kMaxTotalPence - 10 + 5 + 3);
    auto sum = tx.Prepare("SELECT COUNT(*), SUM(amount_pence) FROM posting WHERE year = 2018");
    EXPECT_TRUE(sum.ok() && *sum->Step());
    EXPECT_EQ(sum->Int(0), 3);
    EXPECT_EQ(sum->Int(1), kMaxTotalPence - 10 + 5 + 3);
    return absl::OkStatus();
  });
  ASSERT_TRUE(read.ok()) << read;
}

// A group's postings and chain links are kept and inserted together (multi-row INSERTs) at
// Flush, and on PostgreSQL its request records are read once for the group (PrefetchRequests);
// on each engine: a reversal of a posting the group wrote (not inserted yet) is accepted once and
// refused the second time, a retry inside the group and one of an earlier transaction replay
// their first postings, and the committed ledger adds up and its chain verifies.
class LedgerGroupTest : public ::testing::TestWithParam<Engine> {};

TEST_P(LedgerGroupTest, KeptPostingsAreSeenByReversalsAndRetriesOfTheGroup) {
  std::string database;
  DORSET_DATABASE_FOR_ENGINE(GetParam(), database);
  dorset::testing::TempDir dir;
  auto store = FinanceStore::Open(database, dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(LoadSeedOnce(**store).ok());
  const std::string scheme = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
  const auto batch_of = [&](const std::string& id, std::vector<v1::Posting> list) {
    google::protobuf::RepeatedPtrField<v1::Posting> postings;
    for (v1::Posting& p : list) *postings.Add() = std::move(p);
    auto batch = ParsePostings(id, "tester", postings, true);
    EXPECT_TRUE(batch.ok()) << batch.status();
    return *batch;
  };
  const auto posting = [&](int64_t pence) {
    return MakePosting(scheme, "2019-20", 7, v1::POSTING_KIND_ACTUAL, pence);
  };
  // An earlier transaction's request, retried inside the group below.
  const PostingBatch earlier = batch_of("old-1", {posting(11)});
  std::vector<v1::Posting> earlier_postings;
  ASSERT_TRUE((*store)
                  ->Write([&](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(std::unique_ptr<LedgerWriter> writer,
                                     LedgerWriter::Create(tx));
                    ASSIGN_OR_RETURN(earlier_postings, writer->Apply(earlier));
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(earlier_postings.size(), 1u);

  // 70 requests (IN lists of 64, 4 and 2 ids), then reversals and retries.
  std::vector<PostingBatch> many;
  for (int i = 0; i < 70; ++i) many.push_back(batch_of(absl::StrCat("r-", i), {posting(i + 1)}));
  const PostingBatch pair = batch_of("pair", {posting(1000), posting(2000)});
  const PostingBatch retry_earlier = batch_of("old-1", {posting(11)});
  const PostingBatch reused_earlier = batch_of("old-1", {posting(12)});
  const PostingBatch retry_pair = batch_of("pair", {posting(1000), posting(2000)});
  std::vector<std::string> ids = {"old-1", "pair", "rev-1", "rev-2", "", "pair"};
  for (const PostingBatch& b : many) ids.push_back(b.request_id);
  std::vector<v1::Posting> pair_postings, replayed, replayed_pair;
  absl::Status second_reversal, reused;
  ASSERT_TRUE((*store)
                  ->Write([&](Transaction& tx) -> absl::Status {
                    ASSIGN_OR_RETURN(std::unique_ptr<LedgerWriter> writer,
                                     LedgerWriter::Create(tx));
                    RETURN_IF_ERROR(writer->PrefetchRequests(ids));
                    const auto apply =
                        [&](const PostingBatch& b) -> absl::StatusOr<std::vector<v1::Posting>> {
                      ASSIGN_OR_RETURN(LedgerWriter::Checked checked, writer->Check(b));
                      return writer->Write(b, checked);
                    };
                    for (const PostingBatch& b : many) RETURN_IF_ERROR(apply(b).status());
                    ASSIGN_OR_RETURN(pair_postings, apply(pair));
                    // Reversals of the pair's first posting, kept in this group, not inserted yet.
                    const PostingBatch reversal =
                        batch_of("rev-1", {Reversal(pair_postings[0].name(), "wrong month")});
                    RETURN_IF_ERROR(apply(reversal).status());
                    const PostingBatch again =
                        batch_of("rev-2", {Reversal(pair_postings[0].name(), "twice")});
                    second_reversal = apply(again).status();
                    ASSIGN_OR_RETURN(replayed, apply(retry_earlier));
                    reused = apply(reused_earlier).status();
                    ASSIGN_OR_RETURN(replayed_pair, apply(retry_pair));
                    return writer->Flush();
                  })
                  .ok());
  EXPECT_EQ(second_reversal.code(), absl::StatusCode::kFailedPrecondition) << second_reversal;
  EXPECT_EQ(reused.code(), absl::StatusCode::kAlreadyExists) << reused;
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_EQ(replayed[0].name(), earlier_postings[0].name());
  ASSERT_EQ(replayed_pair.size(), 2u);
  EXPECT_EQ(replayed_pair[0].name(), pair_postings[0].name());
  EXPECT_EQ(replayed_pair[1].name(), pair_postings[1].name());
  // The reversal took the id after the pair's (ids are given in order, kept or not).
  int64_t pair_second = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(absl::StripPrefix(pair_postings[1].name(), "postings/"), &pair_second));
  EXPECT_EQ(replayed_pair[0].reversed_by(), absl::StrCat("postings/", pair_second + 1));

  // 1 earlier + 70 + 2 + 1 reversal postings, 73 records; totals equal the postings' sums.
  const int64_t many_sum = 70 * 71 / 2;
  int64_t all_postings = 0;
  absl::Status read = (*store)->Read([&](Transaction& tx) -> absl::Status {
    using runtime::storage::Statement;
    ASSIGN_OR_RETURN(Statement all, tx.Prepare("SELECT COUNT(*) FROM posting"));
    EXPECT_TRUE(*all.Step());
    all_postings = all.Int(0);
    ASSIGN_OR_RETURN(Statement postings,
                     tx.Prepare("SELECT COUNT(*), SUM(amount_pence), MIN(id), MAX(id) FROM "
                                "posting WHERE year = 2019 AND month = 7"));
    EXPECT_TRUE(*postings.Step());
    EXPECT_EQ(postings.Int(0), 74);
    EXPECT_EQ(postings.Int(1), 11 + many_sum + 2000);
    EXPECT_EQ(postings.Int(3) - postings.Int(2), 73);  // consecutive ids
    ASSIGN_OR_RETURN(Statement total,
                     tx.Prepare("SELECT SUM(amount_pence) FROM total WHERE year = 2019 AND "
                                "month = 7"));
    EXPECT_TRUE(*total.Step());
    EXPECT_EQ(total.Int(0), 11 + many_sum + 2000);
    ASSIGN_OR_RETURN(Statement records, tx.Prepare("SELECT COUNT(*) FROM idempotency_records"));
    EXPECT_TRUE(*records.Step());
    EXPECT_EQ(records.Int(0), 73);
    ASSIGN_OR_RETURN(Statement links, tx.Prepare("SELECT COUNT(*) FROM posting_chain"));
    EXPECT_TRUE(*links.Step());
    EXPECT_EQ(links.Int(0), all_postings);
    return absl::OkStatus();
  });
  ASSERT_TRUE(read.ok()) << read;
  absl::StatusOr<LedgerVerification> verified =
      VerifyLedger(**store, std::string(64, 'k'), std::nullopt);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->findings.empty());
  EXPECT_EQ(verified->postings_checked, all_postings);
}

INSTANTIATE_TEST_SUITE_P(Engines, LedgerGroupTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::finance
