// Retention of stakeholders' contact details with an injected clock, through the API: the dry
// run lists exactly those whose last activity (change or response) is past the period, the run
// erases exactly them with the usual erasure (responses anonymised, aggregates unchanged), and
// only callers who may erase can do either. The service's timer runs it by itself (a short
// interval injected) and audits each erasure; two stores on one database never run it at once
// (the cross-replica lock, runtime/storage/replica_lock.h).
#include "services/engagement/domain/retention.h"

#include <cstdio>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "runtime/audit/audit_log.h"
#include "runtime/storage/replica_lock.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

constexpr char kAdmin[] = "tok-admin";
constexpr char kEditor[] = "tok-editor";
constexpr char kPersonal[] = "tok-personal";

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::ServerConfig config = dorset::testing::TestServerConfig("engagement", dir_.path());
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = tokens_.File("tokens");
    dorset::testing::WriteTokensFile(config.tokens_file,
                                     {{kAdmin, "admin", "admin"},
                                      {kEditor, "editor", "engagement-editor"},
                                      {kPersonal, "dpo", "personal-data-reader"}});
    server_.retention = absl::Hours(24 * 730);  // two years
    server_.retention_interval = Interval();
    server_.Start(config);
    // The timer's first round runs at start on its own thread: wait for it, so that it cannot
    // run late, after a test has moved the clock on, and erase what the test means to look at.
    ASSERT_NE(server_.module->retention_timer(), nullptr);
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (server_.module->retention_timer()->rounds() < 1 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_GE(server_.module->retention_timer()->rounds(), 1);
    MakeActivity(stub(), "gp", kEditor);
    ASSERT_TRUE(Open(stub(), "gp", kEditor).ok());
  }
  void TearDown() override {
    if (server_.host) server_.host->Shutdown();
  }
  // The timer's interval: the setting's default (an hour: one round at start, then none during
  // the test) unless a test asks for a short one.
  virtual absl::Duration Interval() { return absl::ZeroDuration(); }
  v1::EngagementService::Stub& stub() { return *server_.stub; }
  v1::Stakeholder Get(const std::string& name) {
    v1::GetStakeholderRequest get;
    get.set_name(name);
    v1::Stakeholder s;
    EXPECT_TRUE(stub().GetStakeholder(Ctx(kPersonal).get(), get, &s).ok());
    return s;
  }

  std::string Stakeholder(const std::string& display_name) {
    v1::CreateStakeholderRequest request;
    request.mutable_stakeholder()->set_kind(v1::STAKEHOLDER_KIND_PATIENT);
    request.mutable_stakeholder()->set_display_name(display_name);
    request.mutable_stakeholder()->mutable_contact()->set_email("someone@example.org");
    v1::Stakeholder out;
    EXPECT_TRUE(stub().CreateStakeholder(Ctx(kEditor).get(), request, &out).ok());
    return out.name();
  }
  void RespondAs(const std::string& stakeholder) {
    v1::Response r = ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}, "a view");
    r.set_stakeholder(stakeholder);
    v1::Response out;
    ASSERT_TRUE(Respond(stub(), "gp", r, &out, kEditor).ok());
  }
  v1::RetentionPreview Preview(const std::string& token, grpc::Status* status = nullptr) {
    v1::RetentionPreview out;
    grpc::Status s = stub().PreviewRetention(Ctx(token).get(), {}, &out);
    if (status != nullptr) *status = s;
    return out;
  }
  v1::ActivityAggregates Aggregates() {
    v1::GetActivityAggregatesRequest request;
    request.set_name("activities/gp/aggregates");
    v1::ActivityAggregates out;
    EXPECT_TRUE(stub().GetActivityAggregates(Ctx(kEditor).get(), request, &out).ok());
    return out;
  }

  dorset::testing::TempDir dir_, tokens_;
  EngagementServer server_;
};

TEST_F(RetentionTest, ErasesExactlyWhatIsPastThePeriodAndKeepsAggregates) {
  const std::string old_one = Stakeholder("Old Person");
  const std::string active = Stakeholder("Active Person");
  RespondAs(old_one);
  server_.clock->Advance(absl::Hours(24 * 400));
  RespondAs(active);  // a response is activity: keeps them
  server_.clock->Advance(absl::Hours(24 * 400));
  const std::string fresh = Stakeholder("New Person");

  // The dry run from the real dorsetctl lists them and changes nothing.
  std::string out;
  FILE* pipe =
      popen(absl::StrCat(DORSET_CTL_BINARY, " engagement retention --dry-run --target=127.0.0.1:",
                         server_.host->grpc_port(), " --token=", kAdmin, " 2>&1")
                .c_str(),
            "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr(old_one));
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr(active)));

  v1::RetentionPreview preview = Preview(kAdmin);
  EXPECT_EQ(preview.retention_days(), 730);
  ASSERT_EQ(preview.candidates_size(), 1);
  EXPECT_EQ(preview.total_candidates(), 1);
  EXPECT_EQ(preview.candidates(0).stakeholder(), old_one);
  // A dry run changes nothing.
  EXPECT_EQ(Preview(kAdmin).candidates_size(), 1);

  // Only those who may erase may see or run it.
  grpc::Status status;
  Preview(kEditor, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::RetentionRun run;
  EXPECT_EQ(stub().RunRetention(Ctx(kPersonal).get(), {}, &run).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  const v1::ActivityAggregates before = Aggregates();
  ASSERT_TRUE(stub().RunRetention(Ctx(kAdmin).get(), {}, &run).ok());
  EXPECT_TRUE(run.ran());
  EXPECT_THAT(run.erased_stakeholders(), ::testing::ElementsAre(old_one));
  EXPECT_EQ(Aggregates().SerializeAsString(), before.SerializeAsString());

  for (const auto& [name, erased] :
       {std::pair{old_one, true}, std::pair{active, false}, std::pair{fresh, false}}) {
    v1::GetStakeholderRequest get;
    get.set_name(name);
    v1::Stakeholder s;
    ASSERT_TRUE(stub().GetStakeholder(Ctx(kPersonal).get(), get, &s).ok());
    EXPECT_EQ(s.erased(), erased) << name;
    if (erased) {
      EXPECT_EQ(s.display_name(), "");
    }
  }
  EXPECT_EQ(Preview(kAdmin).candidates_size(), 0);

  // Two more years on, the others go too.
  server_.clock->Advance(absl::Hours(24 * 800));
  EXPECT_EQ(Preview(kAdmin).total_candidates(), 2);
}

// The timer inside the service, every 50 ms here: with nobody calling RunRetention, the
// stakeholder past the period is erased by the service itself, as its own principal, with the
// erasure in the audit trail; the one still active is kept and the aggregates do not move.
class RetentionTimerTest : public RetentionTest {
 protected:
  absl::Duration Interval() override { return absl::Milliseconds(50); }
};

TEST_F(RetentionTimerTest, TheServiceErasesOnItsOwnAndAuditsEachErasure) {
  const std::string old_one = Stakeholder("Old Person");
  const std::string active = Stakeholder("Active Person");
  RespondAs(old_one);
  RespondAs(active);
  absl::SleepFor(absl::Milliseconds(200));  // rounds run and find nobody to erase
  EXPECT_FALSE(Get(old_one).erased());
  server_.clock->Advance(absl::Hours(24 * 400));
  RespondAs(active);
  server_.clock->Advance(absl::Hours(24 * 400));  // old_one: 800 days; active: 400
  const v1::ActivityAggregates before = Aggregates();

  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!Get(old_one).erased() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  const v1::Stakeholder erased = Get(old_one);
  EXPECT_TRUE(erased.erased());
  EXPECT_EQ(erased.display_name(), "");
  EXPECT_FALSE(Get(active).erased());
  EXPECT_EQ(Aggregates().SerializeAsString(), before.SerializeAsString());

  // The audit trail names the erasure and who made it: the service's own principal. The round
  // records each erasure's event after that erasure commits (retention.cc), so the stakeholder
  // may read as erased a moment before its event is recorded: wait for the event, then let a few
  // more rounds run (every 50 ms) and require it exactly once.
  auto erasure_events = [&]() -> std::vector<common::v1::AuditEvent> {
    std::vector<common::v1::AuditEvent> found;
    EXPECT_TRUE(server_.host->audit().Flush());
    common::v1::ListAuditEventsRequest request;
    request.set_page_size(1000);
    absl::StatusOr<common::v1::ListAuditEventsResponse> trail = server_.host->audit().List(request);
    EXPECT_TRUE(trail.ok()) << trail.status();
    if (!trail.ok()) return found;
    for (const common::v1::AuditEvent& event : trail->events()) {
      if (event.principal() == "engagement-retention") found.push_back(event);
    }
    return found;
  };
  while (erasure_events().empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::SleepFor(absl::Milliseconds(200));
  const std::vector<common::v1::AuditEvent> erasures = erasure_events();
  ASSERT_EQ(erasures.size(), 1u);
  EXPECT_EQ(erasures[0].resource(), old_one);
  EXPECT_EQ(erasures[0].method(), "/dorset.engagement.v1.EngagementService/RunRetention");
  EXPECT_EQ(erasures[0].action(), "WRITE");
}

// Two replicas' stores on one database (the run's engine): while one holds the retention lock
// the other's run does nothing (ran = false) and erases nobody; once it is released the other
// runs. Then both run at the same moment, round after round: every stakeholder past the period
// is erased by exactly one of them, never by both.
TEST(RetentionLockTest, TwoStoresOnOneDatabaseNeverRunItAtOnce) {
  dorset::testing::TempDir dir;
  absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(dir.path());
  ASSERT_TRUE(database.ok()) << database.status();
  auto store_a = EngagementStore::Open(*database, dir.path());
  ASSERT_TRUE(store_a.ok()) << store_a.status();
  auto store_b = EngagementStore::Open(*database, dir.path());
  ASSERT_TRUE(store_b.ok()) << store_b.status();
  auto clock = std::make_shared<FakeClock>();
  std::vector<common::v1::AuditEvent> audited;
  absl::Mutex audit_mu;
  EngagementOptions options;
  options.now = [clock] { return clock->Now(); };
  options.audit = [&](common::v1::AuditEvent event) {
    absl::MutexLock lock(&audit_mu);
    audited.push_back(std::move(event));
  };
  Engagement a(**store_a, nullptr, runtime::PageTokenCodec("lock-test-key"), options);
  Engagement b(**store_b, nullptr, runtime::PageTokenCodec("lock-test-key"), options);
  runtime::Caller admin;
  admin.principal = "dpo";
  admin.roles = {"admin"};
  auto make_stakeholders = [&](int n) {
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
      v1::CreateStakeholderRequest request;
      request.mutable_stakeholder()->set_kind(v1::STAKEHOLDER_KIND_PATIENT);
      request.mutable_stakeholder()->set_display_name(absl::StrCat("Person ", i));
      v1::Stakeholder out;
      EXPECT_TRUE(a.stakeholders().CreateStakeholder(admin, request, &out).ok());
      names.push_back(out.name());
    }
    clock->Advance(absl::Hours(24 * 800));
    return names;
  };
  Retention retention_a(a, absl::Hours(24 * 730));
  Retention retention_b(b, absl::Hours(24 * 730));

  const std::vector<std::string> first = make_stakeholders(3);
  {
    absl::StatusOr<std::unique_ptr<runtime::storage::ReplicaLock>> held =
        runtime::storage::ReplicaLock::TryAcquire((*store_a)->database(), Retention::kLockName);
    ASSERT_TRUE(held.ok()) << held.status();
    ASSERT_NE(*held, nullptr);
    for (Retention* r : {&retention_b, &retention_a}) {
      v1::RetentionRun run;
      ASSERT_TRUE(r->Run(admin, {}, &run).ok());
      EXPECT_FALSE(run.ran());
      EXPECT_EQ(run.erased_stakeholders_size(), 0);
    }
    v1::RetentionPreview preview;
    ASSERT_TRUE(retention_b.Preview({}, &preview).ok());
    EXPECT_EQ(preview.total_candidates(), 3);
  }
  v1::RetentionRun run;
  ASSERT_TRUE(retention_b.Run(admin, {}, &run).ok());
  EXPECT_TRUE(run.ran());
  EXPECT_THAT(run.erased_stakeholders(), ::testing::UnorderedElementsAreArray(first));
  EXPECT_EQ(audited.size(), 3u);

  for (int round = 0; round < 5; ++round) {
    const std::vector<std::string> names = make_stakeholders(8);
    v1::RetentionRun run_a, run_b;
    absl::Status status_a, status_b;
    std::thread thread_a([&] { status_a = retention_a.Run(admin, {}, &run_a); });
    std::thread thread_b([&] { status_b = retention_b.Run(admin, {}, &run_b); });
    thread_a.join();
    thread_b.join();
    ASSERT_TRUE(status_a.ok()) << status_a;
    ASSERT_TRUE(status_b.ok()) << status_b;
    std::multiset<std::string> erased(run_a.erased_stakeholders().begin(),
                                      run_a.erased_stakeholders().end());
    erased.insert(run_b.erased_stakeholders().begin(), run_b.erased_stakeholders().end());
    EXPECT_EQ(erased, std::multiset<std::string>(names.begin(), names.end())) << "round " << round;
  }
}

}  // namespace
}  // namespace dorset::engagement::testing
