// Registry-backed checks with a REAL registry host in the test: localities and practices are
// created through the registry's gRPC API, and the engagement host reaches it through the
// registry client (registry_target), exactly as in production.
#include <httplib.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gmock/gmock.h"
#include "services/registry/registry_module.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

using ::grpc::StatusCode;
namespace reg = ::dorset::registry::v1;

class RegistryChecksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = runtime::ServiceHost::Start(
        dorset::testing::TestServerConfig("registry", registry_dir_.path()),
        std::make_unique<registry::RegistryModule>());
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
    auto stub =
        reg::RegistryService::NewStub(dorset::testing::LocalChannel(registry_->grpc_port()));

    // Localities (and their cluster) through the import API.
    {
      grpc::ClientContext context;
      reg::ImportReport report;
      auto writer = stub->ImportFile(&context, &report);
      reg::ImportFileRequest chunk;
      chunk.mutable_options()->set_kind(reg::IMPORT_KIND_LOCALITIES);
      chunk.mutable_options()->set_source_name("engagement-test");
      chunk.set_data(
          "locality_id,locality_name,cluster_id,cluster_name\n"
          "east-test,East Test,cluster-test,Cluster Test\n"
          "west-test,West Test,cluster-test,Cluster Test\n");
      ASSERT_TRUE(writer->Write(chunk));
      writer->WritesDone();
      grpc::Status status = writer->Finish();
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
    AddPractice(*stub, "J99901", "localities/east-test", 8000);
    AddPractice(*stub, "J99902", "localities/west-test", 3000);

    runtime::ServerConfig config = dorset::testing::TestServerConfig("engagement", dir_.path());
    config.registry_target = "127.0.0.1:" + std::to_string(registry_->grpc_port());
    config_ = config;
    server_.Start(config);
  }

  // GET /readyz of the engagement host: "<status> <body>".
  std::string Readyz() {
    httplib::Client ops("127.0.0.1", server_.host->ops_port());
    auto res = ops.Get("/readyz");
    if (!res) return "no answer";
    return absl::StrCat(res->status, " ", res->body);
  }

  v1::ActivityAggregates Aggregates(const std::string& activity) {
    v1::GetActivityAggregatesRequest request;
    request.set_name("activities/" + activity + "/aggregates");
    v1::ActivityAggregates a;
    grpc::Status status = stub().GetActivityAggregates(Ctx().get(), request, &a);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return a;
  }

  // An open activity covering east-test, with one response there.
  void MakeEastActivity(const std::string& id) {
    v1::CreateActivityRequest create;
    create.set_activity_id(id);
    create.mutable_activity()->set_kind(v1::ACTIVITY_KIND_SURVEY);
    create.mutable_activity()->set_title("East survey");
    create.mutable_activity()->add_localities("localities/east-test");
    v1::Activity activity;
    ASSERT_TRUE(stub().CreateActivity(Ctx().get(), create, &activity).ok());
    ASSERT_TRUE(Open(stub(), id).ok());
    v1::Response out;
    ASSERT_TRUE(
        Respond(stub(), id,
                ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "localities/east-test", {}),
                &out)
            .ok());
  }

  void AddPractice(reg::RegistryService::Stub& stub, const std::string& code,
                   const std::string& locality, int64_t patients,
                   const std::string& commissioner = "11J") {
    reg::CreatePracticeRequest request;
    reg::Practice& p = *request.mutable_practice();
    p.set_ods_code(code);
    p.set_display_name("Test Surgery " + code);
    p.set_postcode("BH22 9HB");
    p.set_status(reg::Practice::STATUS_ACTIVE);
    p.set_open_date("2000-01-01");
    p.set_prescribing_setting(4);
    p.set_commissioner(commissioner);
    p.set_locality(locality);
    p.set_list_size(patients);
    p.set_list_size_date("2024-01-01");
    grpc::ClientContext context;
    reg::Practice out;
    grpc::Status status = stub.CreatePractice(&context, request, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void TearDown() override {
    if (server_.host) server_.host->Shutdown();
    if (registry_) registry_->Shutdown();
  }

  v1::EngagementService::Stub& stub() { return *server_.stub; }

  dorset::testing::TempDir registry_dir_, dir_;
  std::unique_ptr<runtime::ServiceHost> registry_;
  runtime::ServerConfig config_;
  EngagementServer server_;
};

TEST_F(RegistryChecksTest, ChecksLocalitiesAndPracticesAgainstTheRegistry) {
  v1::CreateActivityRequest create;
  create.set_activity_id("registry-backed");
  create.mutable_activity()->set_kind(v1::ACTIVITY_KIND_SURVEY);
  create.mutable_activity()->set_title("Registry-backed survey");
  create.mutable_activity()->add_localities("localities/nowhere");
  v1::Activity activity;
  grpc::Status refused = stub().CreateActivity(Ctx().get(), create, &activity);
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("activity.localities[0]"));
  create.mutable_activity()->set_localities(0, "localities/east-test");
  create.mutable_activity()->add_localities("localities/west-test");
  ASSERT_TRUE(stub().CreateActivity(Ctx().get(), create, &activity).ok());
  ASSERT_TRUE(Open(stub(), "registry-backed").ok());

  // A practice alone: its locality comes from the registry.
  v1::Response r = ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_SUPPORTIVE, "", {});
  r.set_practice("practices/J99901");
  v1::Response out;
  ASSERT_TRUE(Respond(stub(), "registry-backed", r, &out).ok());
  EXPECT_EQ(out.locality(), "localities/east-test");
  ASSERT_TRUE(Respond(stub(), "registry-backed", r, &out).ok());
  // A locality alone.
  ASSERT_TRUE(
      Respond(stub(), "registry-backed",
              ResponseOf(v1::CHANNEL_PHONE, v1::SENTIMENT_OPPOSED, "localities/west-test", {}),
              &out)
          .ok());

  // Refusals, each naming its field.
  r.set_locality("localities/west-test");  // J99901 is in east-test
  grpc::Status mismatch = Respond(stub(), "registry-backed", r, &out);
  EXPECT_EQ(mismatch.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(mismatch.error_message(), ::testing::HasSubstr("response.locality"));
  r.clear_locality();
  r.set_practice("practices/J00000");
  grpc::Status unknown_practice = Respond(stub(), "registry-backed", r, &out);
  EXPECT_EQ(unknown_practice.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(unknown_practice.error_message(), ::testing::HasSubstr("response.practice"));
  grpc::Status unknown_locality = Respond(
      stub(), "registry-backed",
      ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "localities/atlantis", {}), &out);
  EXPECT_EQ(unknown_locality.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(unknown_locality.error_message(), ::testing::HasSubstr("response.locality"));

  // Participation per 1,000 registered patients, from the registry's list sizes:
  // east 2 / 8,000 = 0.250; west 1 / 3,000 = 0.333 (0.3333... rounded down).
  v1::GetActivityAggregatesRequest request;
  request.set_name("activities/registry-backed/aggregates");
  v1::ActivityAggregates a;
  ASSERT_TRUE(stub().GetActivityAggregates(Ctx().get(), request, &a).ok());
  EXPECT_EQ(a.total_responses(), 3);
  ASSERT_EQ(a.participation_size(), 2);
  EXPECT_EQ(a.participation(0).locality(), "localities/east-test");
  EXPECT_EQ(a.participation(0).responses(), 2);
  EXPECT_EQ(a.participation(0).registered_patients(), 8000);
  EXPECT_EQ(a.participation(0).per_thousand_millis(), 250);
  EXPECT_EQ(a.participation(0).per_thousand(), "0.250");
  EXPECT_EQ(a.participation(1).locality(), "localities/west-test");
  EXPECT_EQ(a.participation(1).registered_patients(), 3000);
  EXPECT_EQ(a.participation(1).per_thousand(), "0.333");
}

// Issue 11 item 9: with the registry down and nothing cached the population is unavailable —
// said so, never a 0 — and /readyz says the dependency is down while staying ready.
TEST_F(RegistryChecksTest, PopulationIsUnavailableNotZeroWhenTheRegistryIsDownAndCold) {
  MakeEastActivity("cold");
  EXPECT_THAT(Readyz(), ::testing::StartsWith("200 ok"));
  EXPECT_THAT(Readyz(), ::testing::Not(::testing::HasSubstr("dependency down")));
  // The registry stops, and engagement restarts: nothing of the registry's is cached anywhere.
  registry_->Shutdown();
  server_.host->Shutdown();
  server_.host.reset();
  server_.Start(config_);

  v1::ActivityAggregates a = Aggregates("cold");
  EXPECT_EQ(a.total_responses(), 1);  // the counts still answer
  ASSERT_EQ(a.participation_size(), 1);
  const v1::LocalityParticipation& p = a.participation(0);
  EXPECT_EQ(p.locality(), "localities/east-test");
  EXPECT_EQ(p.responses(), 1);
  EXPECT_FALSE(p.registered_patients_available());
  EXPECT_EQ(p.per_thousand(), "");
  EXPECT_FALSE(p.has_registered_patients_time());

  // Ready (200) but degraded, naming the registry; the health loop polls every second.
  std::string readyz;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    readyz = Readyz();
    if (absl::StrContains(readyz, "dependency down: registry")) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_THAT(readyz, ::testing::StartsWith("200 ok"));
  EXPECT_THAT(readyz, ::testing::HasSubstr("dependency down: registry unreachable"));
}

// Issue 11 item 9: a population known before the registry went down is served for at most 15
// minutes, marked stale with the time it was current; after that, unavailable.
TEST_F(RegistryChecksTest, PopulationFromACopyIsMarkedStaleWithinItsBoundThenUnavailable) {
  MakeEastActivity("warm");
  const absl::Time t0 = server_.clock->Now();
  v1::ActivityAggregates a = Aggregates("warm");
  ASSERT_EQ(a.participation_size(), 1);
  EXPECT_TRUE(a.participation(0).registered_patients_available());
  EXPECT_FALSE(a.participation(0).registered_patients_stale());
  EXPECT_EQ(a.participation(0).registered_patients(), 8000);
  EXPECT_EQ(a.participation(0).registered_patients_time().seconds(), absl::ToUnixSeconds(t0));

  registry_->Shutdown();
  server_.clock->Advance(absl::Minutes(5));
  a = Aggregates("warm");
  ASSERT_EQ(a.participation_size(), 1);
  EXPECT_TRUE(a.participation(0).registered_patients_available());
  EXPECT_TRUE(a.participation(0).registered_patients_stale());
  EXPECT_EQ(a.participation(0).registered_patients(), 8000);
  EXPECT_EQ(a.participation(0).per_thousand(), "0.125");
  EXPECT_EQ(a.participation(0).registered_patients_time().seconds(), absl::ToUnixSeconds(t0));

  server_.clock->Advance(absl::Minutes(11));
  a = Aggregates("warm");
  ASSERT_EQ(a.participation_size(), 1);
  EXPECT_FALSE(a.participation(0).registered_patients_available());
  EXPECT_FALSE(a.participation(0).registered_patients_stale());
  EXPECT_EQ(a.participation(0).per_thousand(), "");
}

// Issue 11 item 10: a response's practice must be one of the commissioner's (11J) and open on
// the day of the response.
TEST_F(RegistryChecksTest, ResponsesNameOnlyOpenPracticesOfTheCommissioner) {
  auto registry =
      reg::RegistryService::NewStub(dorset::testing::LocalChannel(registry_->grpc_port()));
  AddPractice(*registry, "A81001", "", 9000, "16C");  // Stockton-on-Tees
  AddPractice(*registry, "J99903", "localities/east-test", 4000);
  {
    reg::ClosePracticeRequest close;
    close.set_name("practices/J99903");
    close.set_close_date("2020-03-31");
    grpc::ClientContext context;
    reg::Practice closed;
    grpc::Status status = registry->ClosePractice(&context, close, &closed);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  MakeEastActivity("practices");
  v1::Response out;

  v1::Response r = ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_SUPPORTIVE, "", {});
  r.set_practice("practices/A81001");
  grpc::Status elsewhere = Respond(stub(), "practices", r, &out);
  EXPECT_EQ(elsewhere.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(elsewhere.error_message(), ::testing::HasSubstr("response.practice"));
  EXPECT_THAT(elsewhere.error_message(), ::testing::HasSubstr("11J"));

  r.set_practice("practices/J99903");
  grpc::Status closed = Respond(stub(), "practices", r, &out);
  EXPECT_EQ(closed.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(closed.error_message(), ::testing::HasSubstr("response.practice"));
  EXPECT_THAT(closed.error_message(), ::testing::HasSubstr("not open"));

  r.set_practice("practices/J99901");
  ASSERT_TRUE(Respond(stub(), "practices", r, &out).ok());
  EXPECT_EQ(out.locality(), "localities/east-test");
  EXPECT_EQ(Aggregates("practices").total_responses(), 2);  // the refused ones left no trace
}

// An activity (DRAFT until opened) with `allowed` practices; the status of the create.
grpc::Status CreateWithAllowed(v1::EngagementService::Stub& stub, const std::string& id,
                               const std::vector<std::string>& allowed, v1::Activity* out) {
  v1::CreateActivityRequest create;
  create.set_activity_id(id);
  create.mutable_activity()->set_kind(v1::ACTIVITY_KIND_CONSULTATION);
  create.mutable_activity()->set_title("Consultation " + id);
  for (const std::string& p : allowed) create.mutable_activity()->add_allowed_practices(p);
  return stub.CreateActivity(Ctx().get(), create, out);
}

// A response naming `practice` only.
v1::Response AtPractice(const std::string& practice) {
  v1::Response r = ResponseOf(v1::CHANNEL_LETTER, v1::SENTIMENT_NEUTRAL, "", {});
  r.set_practice(practice);
  return r;
}

// Issue 11 item 10, "or explicitly allowed by the activity": a practice outside 11J and one
// closed before the response are refused unless the activity lists them in allowed_practices;
// the list adds to the rule, it does not narrow it.
TEST_F(RegistryChecksTest, AnActivityMayAllowPracticesTheCommissionerRuleRefuses) {
  auto registry =
      reg::RegistryService::NewStub(dorset::testing::LocalChannel(registry_->grpc_port()));
  AddPractice(*registry, "A81001", "", 9000, "16C");  // Stockton-on-Tees
  AddPractice(*registry, "J99903", "localities/east-test", 4000);
  {
    reg::ClosePracticeRequest close;
    close.set_name("practices/J99903");
    close.set_close_date("2020-03-31");
    grpc::ClientContext context;
    reg::Practice closed;
    ASSERT_TRUE(registry->ClosePractice(&context, close, &closed).ok());
  }
  v1::Activity plain, cross;
  ASSERT_TRUE(CreateWithAllowed(stub(), "plain", {}, &plain).ok());
  grpc::Status created =
      CreateWithAllowed(stub(), "cross", {"practices/A81001", "practices/J99903"}, &cross);
  ASSERT_TRUE(created.ok()) << created.error_message();
  EXPECT_THAT(cross.allowed_practices(),
              ::testing::ElementsAre("practices/A81001", "practices/J99903"));
  ASSERT_TRUE(Open(stub(), "plain").ok());
  ASSERT_TRUE(Open(stub(), "cross").ok());

  v1::Response out;
  for (const char* practice : {"practices/A81001", "practices/J99903"}) {
    grpc::Status refused = Respond(stub(), "plain", AtPractice(practice), &out);
    EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT) << practice;
    EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("response.practice"));
    EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("allowed_practices"));
    grpc::Status allowed = Respond(stub(), "cross", AtPractice(practice), &out);
    EXPECT_TRUE(allowed.ok()) << practice << ": " << allowed.error_message();
    EXPECT_EQ(out.practice(), practice);
  }
  EXPECT_EQ(out.locality(), "localities/east-test");  // still the registry's locality
  // The commissioner's open practices stay accepted everywhere.
  ASSERT_TRUE(Respond(stub(), "cross", AtPractice("practices/J99901"), &out).ok());
  ASSERT_TRUE(Respond(stub(), "plain", AtPractice("practices/J99901"), &out).ok());
  // An allowed practice is still held to its locality.
  v1::Response wrong_place = AtPractice("practices/J99903");
  wrong_place.set_locality("localities/west-test");
  EXPECT_EQ(Respond(stub(), "cross", wrong_place, &out).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Aggregates("plain").total_responses(), 1);
  EXPECT_EQ(Aggregates("cross").total_responses(), 3);
}

// Issue 11 item 10, "open at the response's time": a practice whose close date comes after the
// response is open for it; once the day of a response is past the close date it is refused,
// unless the activity allows the practice. The response's time is its create_time.
TEST_F(RegistryChecksTest, APracticeIsJudgedOpenOnTheDayOfTheResponse) {
  auto registry =
      reg::RegistryService::NewStub(dorset::testing::LocalChannel(registry_->grpc_port()));
  AddPractice(*registry, "J99904", "localities/west-test", 2500);
  absl::TimeZone london;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/London", &london));
  const absl::Time t0 = server_.clock->Now();
  const std::string close_date = absl::FormatTime("%Y-%m-%d", t0 + absl::Hours(24 * 10), london);
  {
    reg::ClosePracticeRequest close;
    close.set_name("practices/J99904");
    close.set_close_date(close_date);
    grpc::ClientContext context;
    reg::Practice closed;
    grpc::Status status = registry->ClosePractice(&context, close, &closed);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(closed.status(), reg::Practice::STATUS_CLOSED);
  }
  v1::Activity activity;
  ASSERT_TRUE(CreateWithAllowed(stub(), "closing", {}, &activity).ok());
  ASSERT_TRUE(Open(stub(), "closing").ok());

  // Before the close date (the practice is already CLOSED in the registry): accepted, and the
  // response carries the time it was judged at.
  v1::Response before;
  grpc::Status accepted = Respond(stub(), "closing", AtPractice("practices/J99904"), &before);
  ASSERT_TRUE(accepted.ok()) << accepted.error_message();
  EXPECT_EQ(before.create_time().seconds(), absl::ToUnixSeconds(t0));
  EXPECT_EQ(before.locality(), "localities/west-test");

  // On the close date itself (its last day): still accepted.
  server_.clock->Advance(absl::Hours(24 * 10));
  v1::Response on_last_day;
  ASSERT_TRUE(Respond(stub(), "closing", AtPractice("practices/J99904"), &on_last_day).ok());

  // The day after: refused, naming the dates.
  server_.clock->Advance(absl::Hours(24));
  v1::Response out;
  grpc::Status refused = Respond(stub(), "closing", AtPractice("practices/J99904"), &out);
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("response.practice"));
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("closed " + close_date));

  // The organisers allow it (the practice closed during the consultation): accepted again.
  v1::UpdateActivityRequest update;
  update.mutable_activity()->set_name("activities/closing");
  update.mutable_activity()->add_allowed_practices("practices/J99904");
  update.mutable_update_mask()->add_paths("allowed_practices");
  v1::Activity updated;
  grpc::Status allowed = stub().UpdateActivity(Ctx().get(), update, &updated);
  ASSERT_TRUE(allowed.ok()) << allowed.error_message();
  ASSERT_TRUE(Respond(stub(), "closing", AtPractice("practices/J99904"), &out).ok());
  EXPECT_EQ(Aggregates("closing").total_responses(), 3);
}

// Bad entries in allowed_practices are INVALID_ARGUMENT naming the field, on create and on
// update, and change nothing.
TEST_F(RegistryChecksTest, AllowedPracticesMustBeKnownPracticesListedOnce) {
  struct Case {
    std::vector<std::string> allowed;
    std::string field, reason;
  };
  const std::vector<Case> cases = {
      {{"J99901"}, "activity.allowed_practices[0]", "practices/{code}"},
      {{"practices/J99901", "localities/east-test"},
       "activity.allowed_practices[1]",
       "practices/{code}"},
      {{"practices/J99901", "practices/J00000"},
       "activity.allowed_practices[1]",
       "no such practice"},
      {{"practices/J99902", "practices/J99902"}, "activity.allowed_practices[1]", "listed twice"},
      {std::vector<std::string>(101, "practices/J99901"), "activity.allowed_practices", "100"},
  };
  v1::Activity activity;
  ASSERT_TRUE(CreateWithAllowed(stub(), "checked", {"practices/J99902"}, &activity).ok());
  for (const Case& c : cases) {
    const std::string label = absl::StrCat(c.allowed.size(), " entries, ", c.field);
    v1::Activity out;
    grpc::Status created = CreateWithAllowed(stub(), "never", c.allowed, &out);
    EXPECT_EQ(created.error_code(), StatusCode::INVALID_ARGUMENT) << label;
    EXPECT_THAT(created.error_message(), ::testing::HasSubstr(c.field)) << label;
    EXPECT_THAT(created.error_message(), ::testing::HasSubstr(c.reason)) << label;

    v1::UpdateActivityRequest update;
    update.mutable_activity()->set_name(activity.name());
    update.mutable_activity()->set_etag(activity.etag());
    for (const std::string& p : c.allowed) update.mutable_activity()->add_allowed_practices(p);
    update.mutable_update_mask()->add_paths("allowed_practices");
    grpc::Status updated = stub().UpdateActivity(Ctx().get(), update, &out);
    EXPECT_EQ(updated.error_code(), StatusCode::INVALID_ARGUMENT) << label;
    EXPECT_THAT(updated.error_message(), ::testing::HasSubstr(c.field)) << label;
  }
  v1::GetActivityRequest get;
  get.set_name("activities/never");
  v1::Activity none;
  EXPECT_EQ(stub().GetActivity(Ctx().get(), get, &none).error_code(), StatusCode::NOT_FOUND);
  get.set_name(activity.name());
  v1::Activity unchanged;
  ASSERT_TRUE(stub().GetActivity(Ctx().get(), get, &unchanged).ok());
  EXPECT_EQ(unchanged.etag(), activity.etag());
  EXPECT_THAT(unchanged.allowed_practices(), ::testing::ElementsAre("practices/J99902"));
}

// allowed_practices follows update_mask and the etag: a stale etag is ABORTED, a mask without
// it leaves it alone, an empty list under the mask clears it.
TEST_F(RegistryChecksTest, UpdateMaskSetsAndClearsAllowedPracticesUnderTheEtag) {
  auto registry =
      reg::RegistryService::NewStub(dorset::testing::LocalChannel(registry_->grpc_port()));
  AddPractice(*registry, "A81001", "", 9000, "16C");
  v1::Activity activity;
  ASSERT_TRUE(CreateWithAllowed(stub(), "masked", {}, &activity).ok());
  ASSERT_TRUE(Open(stub(), "masked").ok());
  v1::GetActivityRequest get;
  get.set_name(activity.name());
  ASSERT_TRUE(stub().GetActivity(Ctx().get(), get, &activity).ok());
  v1::Response out;
  EXPECT_EQ(Respond(stub(), "masked", AtPractice("practices/A81001"), &out).error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::UpdateActivityRequest update;
  update.mutable_activity()->set_name(activity.name());
  update.mutable_activity()->set_title("ignored: not in the mask");
  update.mutable_activity()->add_allowed_practices("practices/A81001");
  update.mutable_activity()->set_etag("stale-etag-1");
  update.mutable_update_mask()->add_paths("allowed_practices");
  v1::Activity updated;
  EXPECT_EQ(stub().UpdateActivity(Ctx().get(), update, &updated).error_code(), StatusCode::ABORTED);
  EXPECT_EQ(Respond(stub(), "masked", AtPractice("practices/A81001"), &out).error_code(),
            StatusCode::INVALID_ARGUMENT);

  update.mutable_activity()->set_etag(activity.etag());
  grpc::Status set = stub().UpdateActivity(Ctx().get(), update, &updated);
  ASSERT_TRUE(set.ok()) << set.error_message();
  EXPECT_THAT(updated.allowed_practices(), ::testing::ElementsAre("practices/A81001"));
  EXPECT_EQ(updated.title(), activity.title());
  EXPECT_NE(updated.etag(), activity.etag());
  ASSERT_TRUE(Respond(stub(), "masked", AtPractice("practices/A81001"), &out).ok());

  // Another field's update keeps the list.
  v1::UpdateActivityRequest retitle;
  retitle.mutable_activity()->set_name(activity.name());
  retitle.mutable_activity()->set_title("Retitled");
  retitle.mutable_activity()->set_etag(updated.etag());
  retitle.mutable_update_mask()->add_paths("title");
  ASSERT_TRUE(stub().UpdateActivity(Ctx().get(), retitle, &updated).ok());
  EXPECT_THAT(updated.allowed_practices(), ::testing::ElementsAre("practices/A81001"));

  // The old etag no longer works; the current one clears the list.
  v1::UpdateActivityRequest clear;
  clear.mutable_activity()->set_name(activity.name());
  clear.mutable_activity()->set_etag(activity.etag());
  clear.mutable_update_mask()->add_paths("allowed_practices");
  EXPECT_EQ(stub().UpdateActivity(Ctx().get(), clear, &updated).error_code(), StatusCode::ABORTED);
  ASSERT_TRUE(stub().GetActivity(Ctx().get(), get, &activity).ok());
  clear.mutable_activity()->set_etag(activity.etag());
  ASSERT_TRUE(stub().UpdateActivity(Ctx().get(), clear, &updated).ok());
  EXPECT_THAT(updated.allowed_practices(), ::testing::IsEmpty());
  EXPECT_EQ(Respond(stub(), "masked", AtPractice("practices/A81001"), &out).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Aggregates("masked").total_responses(), 1);
}

}  // namespace
}  // namespace dorset::engagement::testing
