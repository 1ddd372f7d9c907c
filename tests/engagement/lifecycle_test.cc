// Activities: the lifecycle and its refusals, the open window, etags, request ids and the seed.
#include "gmock/gmock.h"
#include "runtime/sqlite/database.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

using ::grpc::StatusCode;

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start(dorset::testing::TestServerConfig("engagement", dir_.path()));
  }
  v1::EngagementService::Stub& stub() { return *server_.stub; }

  StatusCode Close(const std::string& id) {
    v1::CloseActivityRequest request;
    request.set_name("activities/" + id);
    v1::Activity out;
    return stub().CloseActivity(Ctx().get(), request, &out).error_code();
  }
  StatusCode Publish(const std::string& id, const std::string& summary) {
    v1::PublishOutcomeRequest request;
    request.set_name("activities/" + id);
    request.set_outcome_summary(summary);
    v1::Activity out;
    return stub().PublishOutcome(Ctx().get(), request, &out).error_code();
  }
  v1::Activity Get(const std::string& id) {
    v1::GetActivityRequest request;
    request.set_name("activities/" + id);
    v1::Activity out;
    EXPECT_TRUE(stub().GetActivity(Ctx().get(), request, &out).ok());
    return out;
  }

  dorset::testing::TempDir dir_;
  EngagementServer server_;
};

TEST_F(LifecycleTest, MovesThroughEachStateOnceAndRefusesEveryOtherTransition) {
  v1::Activity a = MakeActivity(stub(), "lifecycle");
  EXPECT_EQ(a.state(), v1::ACTIVITY_STATE_DRAFT);
  EXPECT_EQ(Close("lifecycle"), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Publish("lifecycle", "done"), StatusCode::FAILED_PRECONDITION);

  ASSERT_TRUE(Open(stub(), "lifecycle").ok());
  v1::Activity open = Get("lifecycle");
  EXPECT_EQ(open.state(), v1::ACTIVITY_STATE_OPEN);
  EXPECT_TRUE(open.has_open_time());
  EXPECT_EQ(Open(stub(), "lifecycle").error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Publish("lifecycle", "done"), StatusCode::FAILED_PRECONDITION);

  EXPECT_EQ(Close("lifecycle"), StatusCode::OK);
  EXPECT_EQ(Get("lifecycle").state(), v1::ACTIVITY_STATE_CLOSED);
  EXPECT_TRUE(Get("lifecycle").has_close_time());
  EXPECT_EQ(Open(stub(), "lifecycle").error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Close("lifecycle"), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Publish("lifecycle", ""), StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(Publish("lifecycle", "We listened."), StatusCode::OK);
  v1::Activity published = Get("lifecycle");
  EXPECT_EQ(published.state(), v1::ACTIVITY_STATE_OUTCOME_PUBLISHED);
  EXPECT_EQ(published.outcome_summary(), "We listened.");
  EXPECT_TRUE(published.has_publish_time());
  EXPECT_EQ(Close("lifecycle"), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Open(stub(), "lifecycle").error_code(), StatusCode::FAILED_PRECONDITION);

  // A published activity is read-only.
  v1::UpdateActivityRequest update;
  update.mutable_activity()->set_name("activities/lifecycle");
  update.mutable_activity()->set_title("changed");
  update.mutable_update_mask()->add_paths("title");
  v1::Activity out;
  EXPECT_EQ(stub().UpdateActivity(Ctx().get(), update, &out).error_code(),
            StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Close("missing"), StatusCode::NOT_FOUND);
}

TEST_F(LifecycleTest, StaleEtagIsAbortedAndUpdateMaskIsRequired) {
  v1::Activity a = MakeActivity(stub(), "etags");
  v1::UpdateActivityRequest update;
  update.mutable_activity()->set_name(a.name());
  update.mutable_activity()->set_title("New title");
  update.mutable_activity()->set_etag(a.etag());
  update.mutable_update_mask()->add_paths("title");
  v1::Activity updated;
  ASSERT_TRUE(stub().UpdateActivity(Ctx().get(), update, &updated).ok());
  EXPECT_EQ(updated.title(), "New title");
  EXPECT_NE(updated.etag(), a.etag());
  // The old etag is stale now.
  EXPECT_EQ(stub().UpdateActivity(Ctx().get(), update, &updated).error_code(), StatusCode::ABORTED);
  v1::OpenActivityRequest open;
  open.set_name(a.name());
  open.set_etag(a.etag());
  EXPECT_EQ(stub().OpenActivity(Ctx().get(), open, &updated).error_code(), StatusCode::ABORTED);
  update.clear_update_mask();
  update.mutable_activity()->clear_etag();
  EXPECT_EQ(stub().UpdateActivity(Ctx().get(), update, &updated).error_code(),
            StatusCode::INVALID_ARGUMENT);
  update.mutable_update_mask()->add_paths("state");  // not updatable: lifecycle methods only
  EXPECT_EQ(stub().UpdateActivity(Ctx().get(), update, &updated).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

// Migration 3 adds allowed_practices: activities written by the schema before it load with an
// empty list (no practice allowed beyond the rule) and take one afterwards. (SQLite: the file is
// put back to the lane's step 2, request_log and all; steps 3 and 4 then run at the start.)
// An SQLite file by nature: run once, unlabelled (tests/engagement/CMakeLists.txt).
class SqliteFileLifecycleTest : public LifecycleTest {};

TEST_F(SqliteFileLifecycleTest, ActivitiesFromBeforeAllowedPracticesMigrateWithAnEmptyList) {
  MakeActivity(stub(), "older");
  server_.host->Shutdown();
  server_.host.reset();
  const std::string path = dir_.path() + "/engagement.db";
  {
    auto db = runtime::sqlite::Database::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    // Back to the schema of step 2.
    ASSERT_TRUE((*db)
                    ->Exec("ALTER TABLE activity DROP COLUMN allowed_practices;"
                           "DELETE FROM schema_migrations WHERE version >= 3;"
                           "DROP VIEW idempotency_records; DROP TABLE idempotency_log;"
                           "DROP TABLE idempotency_record;"
                           "DROP TABLE delivery_change;"
                           "DROP TABLE theme_coding;"
                           "ALTER TABLE response DROP COLUMN theme_assignments;"
                           "DROP TABLE audit_outbox;"
                           "DROP TABLE meta;"
                           "CREATE TABLE request_log (method TEXT NOT NULL, request_id TEXT NOT "
                           "NULL, resource TEXT NOT NULL, create_time INTEGER NOT NULL, "
                           "request_hash TEXT NOT NULL DEFAULT '', PRIMARY KEY (method, "
                           "request_id)) WITHOUT ROWID;")
                    .ok());
  }
  server_.Start(dorset::testing::TestServerConfig("engagement", dir_.path()));
  v1::Activity older = Get("older");
  EXPECT_EQ(older.title(), "Test consultation older");
  EXPECT_THAT(older.allowed_practices(), ::testing::IsEmpty());

  v1::UpdateActivityRequest update;
  update.mutable_activity()->set_name(older.name());
  update.mutable_activity()->set_etag(older.etag());
  update.mutable_activity()->add_allowed_practices("practices/J81010");
  update.mutable_update_mask()->add_paths("allowed_practices");
  v1::Activity updated;
  ASSERT_TRUE(stub().UpdateActivity(Ctx().get(), update, &updated).ok());
  EXPECT_THAT(Get("older").allowed_practices(), ::testing::ElementsAre("practices/J81010"));
  auto db = runtime::sqlite::Database::Open(path);
  ASSERT_TRUE(db.ok());
  auto version = (*db)->Prepare("SELECT MAX(version) FROM schema_migrations");
  ASSERT_TRUE(version.ok());
  auto row = version->Step();
  ASSERT_TRUE(row.ok() && *row);
  // 5, 6, 7: delivery history, theme codings, who coded what (issue 17); 8: the audit outbox;
  // 9: the data version; 10: the outbox's packed rows; 11: the request log (issue 16).
  EXPECT_EQ(version->Int(0), 11);
}

TEST_F(LifecycleTest, RefusesBadFinanceSchemeAndAcceptsWellFormedOne) {
  v1::CreateActivityRequest request;
  request.set_activity_id("linked");
  request.mutable_activity()->set_kind(v1::ACTIVITY_KIND_SURVEY);
  request.mutable_activity()->set_title("Linked");
  request.mutable_activity()->set_finance_scheme("schemes/y");
  v1::Activity out;
  grpc::Status status = stub().CreateActivity(Ctx().get(), request, &out);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  request.mutable_activity()->set_finance_scheme("plans/stp/programmes/x/schemes/y");
  ASSERT_TRUE(stub().CreateActivity(Ctx().get(), request, &out).ok());
  EXPECT_EQ(out.finance_scheme(), "plans/stp/programmes/x/schemes/y");
}

TEST_F(LifecycleTest, CreateWithTheSameRequestIdHappensOnce) {
  v1::CreateActivityRequest request;
  request.mutable_activity()->set_kind(v1::ACTIVITY_KIND_PUBLIC_EVENT);
  request.mutable_activity()->set_title("Drop-in");
  request.set_request_id("req-activity-1");
  v1::Activity first, second;
  ASSERT_TRUE(stub().CreateActivity(Ctx().get(), request, &first).ok());
  ASSERT_TRUE(stub().CreateActivity(Ctx().get(), request, &second).ok());
  EXPECT_EQ(first.name(), second.name());
  // The same id for a different request is a conflict, not a second answer.
  request.mutable_activity()->set_title("Another drop-in");
  EXPECT_EQ(stub().CreateActivity(Ctx().get(), request, &second).error_code(),
            StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(Open(stub(), first.name().substr(first.name().find('/') + 1)).ok());
  v1::Response r1, r2;
  const v1::Response view =
      ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}, "first view");
  const std::string activity = first.name().substr(first.name().find('/') + 1);
  ASSERT_TRUE(Respond(stub(), activity, view, &r1, "", "req-response-1").ok());
  ASSERT_TRUE(Respond(stub(), activity, view, &r2, "", "req-response-1").ok());
  EXPECT_EQ(r1.name(), r2.name());
  EXPECT_EQ(Respond(stub(), activity,
                    ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}, "changed"), &r2,
                    "", "req-response-1")
                .error_code(),
            StatusCode::ALREADY_EXISTS);
  v1::ListActivitiesRequest list;
  list.set_state(v1::ACTIVITY_STATE_OPEN);
  v1::ListActivitiesResponse listed;
  ASSERT_TRUE(stub().ListActivities(Ctx().get(), list, &listed).ok());
  EXPECT_EQ(listed.activities_size(), 1);
}

TEST_F(LifecycleTest, ResponsesAreRefusedOutsideTheOpenWindow) {
  const absl::Time now = server_.clock->Now();
  v1::CreateActivityRequest request;
  request.set_activity_id("windowed");
  request.mutable_activity()->set_kind(v1::ACTIVITY_KIND_CONSULTATION);
  request.mutable_activity()->set_title("Windowed");
  request.mutable_activity()->mutable_window_start_time()->set_seconds(
      absl::ToUnixSeconds(now + absl::Hours(1)));
  request.mutable_activity()->mutable_window_end_time()->set_seconds(
      absl::ToUnixSeconds(now + absl::Hours(2)));
  v1::Activity created;
  ASSERT_TRUE(stub().CreateActivity(Ctx().get(), request, &created).ok());

  const v1::Response r =
      ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_SUPPORTIVE, "", {}, "fine by me");
  v1::Response out;
  // DRAFT: refused.
  EXPECT_EQ(Respond(stub(), "windowed", r, &out).error_code(), StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Open(stub(), "windowed").ok());
  // OPEN but before the window.
  grpc::Status early = Respond(stub(), "windowed", r, &out);
  EXPECT_EQ(early.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(early.error_message(), ::testing::HasSubstr("not started"));
  server_.clock->Advance(absl::Minutes(90));
  EXPECT_TRUE(Respond(stub(), "windowed", r, &out).ok());
  server_.clock->Advance(absl::Minutes(30));  // exactly the end: closed
  grpc::Status late = Respond(stub(), "windowed", r, &out);
  EXPECT_EQ(late.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(late.error_message(), ::testing::HasSubstr("ended"));
  EXPECT_EQ(Close("windowed"), StatusCode::OK);
  EXPECT_EQ(Respond(stub(), "windowed", r, &out).error_code(), StatusCode::FAILED_PRECONDITION);

  // An activity whose window has already ended cannot be opened.
  request.set_activity_id("too-late");
  request.mutable_activity()->mutable_window_start_time()->set_seconds(
      absl::ToUnixSeconds(now - absl::Hours(3)));
  request.mutable_activity()->mutable_window_end_time()->set_seconds(
      absl::ToUnixSeconds(now - absl::Hours(2)));
  ASSERT_TRUE(stub().CreateActivity(Ctx().get(), request, &created).ok());
  EXPECT_EQ(Open(stub(), "too-late").error_code(), StatusCode::FAILED_PRECONDITION);
}

TEST_F(LifecycleTest, ConsentsCarryTheTimeTheyWereRecorded) {
  v1::CreateStakeholderRequest create;
  create.mutable_stakeholder()->set_kind(v1::STAKEHOLDER_KIND_PATIENT_GROUP);
  create.mutable_stakeholder()->set_organisation("Example PPG");
  create.mutable_stakeholder()->mutable_contact_consent()->set_granted(true);
  v1::Stakeholder created;
  ASSERT_TRUE(stub().CreateStakeholder(Ctx().get(), create, &created).ok());
  const int64_t created_at = absl::ToUnixSeconds(server_.clock->Now());
  EXPECT_TRUE(created.contact_consent().granted());
  EXPECT_EQ(created.contact_consent().record_time().seconds(), created_at);
  EXPECT_FALSE(created.publish_consent().granted());

  server_.clock->Advance(absl::Hours(3));
  v1::UpdateStakeholderRequest update;
  update.mutable_stakeholder()->set_name(created.name());
  update.mutable_stakeholder()->set_etag(created.etag());
  update.mutable_stakeholder()->mutable_publish_consent()->set_granted(true);
  update.mutable_update_mask()->add_paths("publish_consent");
  v1::Stakeholder updated;
  ASSERT_TRUE(stub().UpdateStakeholder(Ctx().get(), update, &updated).ok());
  EXPECT_TRUE(updated.publish_consent().granted());
  EXPECT_EQ(updated.publish_consent().record_time().seconds(), created_at + 3 * 3600);
  EXPECT_EQ(updated.contact_consent().record_time().seconds(), created_at);  // untouched
  // The etag moved on: the same update again is stale.
  EXPECT_EQ(stub().UpdateStakeholder(Ctx().get(), update, &updated).error_code(),
            StatusCode::ABORTED);
}

TEST_F(LifecycleTest, ExportsStopOnceShutdownHasBegun) {
  MakeActivity(stub(), "long-export");
  ASSERT_TRUE(Open(stub(), "long-export").ok());
  v1::Response out;
  ASSERT_TRUE(Respond(stub(), "long-export",
                      ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}), &out)
                  .ok());
  v1::ExportResponsesRequest request;
  request.set_parent("activities/long-export");
  v1::ExportResponsesChunk chunk;
  {
    auto context = Ctx();
    auto reader = stub().ExportResponses(context.get(), request);
    ASSERT_TRUE(reader->Read(&chunk));
    EXPECT_FALSE(reader->Read(&chunk));
    ASSERT_TRUE(reader->Finish().ok());
  }
  // What ServiceHost::Shutdown calls before stopping the server: open exports end at their next
  // chunk with UNAVAILABLE (resume later) instead of holding shutdown for the grace period.
  server_.host->module().OnShutdown();
  auto context = Ctx();
  auto reader = stub().ExportResponses(context.get(), request);
  EXPECT_FALSE(reader->Read(&chunk));
  EXPECT_EQ(reader->Finish().error_code(), StatusCode::UNAVAILABLE);
}

TEST_F(LifecycleTest, SeedsTheDorsetConsultationOnceAsPublished) {
  v1::Activity seeded = Get("improving-dorsets-healthcare");
  EXPECT_EQ(seeded.title(), "Improving Dorset's Healthcare");
  EXPECT_EQ(seeded.state(), v1::ACTIVITY_STATE_OUTCOME_PUBLISHED);
  EXPECT_EQ(seeded.reported_participants(), 18500);
  EXPECT_EQ(seeded.window_start_time().seconds(), 1480550400);  // 2016-12-01T00:00:00Z
  EXPECT_EQ(seeded.close_time().seconds(), 1488240000);         // 2017-02-28T00:00:00Z

  v1::GetYouSaidWeDidRequest request;
  request.set_name("activities/improving-dorsets-healthcare/youSaidWeDid");
  v1::YouSaidWeDid ysw;
  ASSERT_TRUE(stub().GetYouSaidWeDid(Ctx().get(), request, &ysw).ok());
  EXPECT_EQ(ysw.reported_participants(), 18500);
  ASSERT_EQ(ysw.themes_size(), 4);
  for (const auto& theme : ysw.themes()) {
    EXPECT_THAT(theme.theme().display_name(), ::testing::StartsWith("[Illustrative]"));
    EXPECT_GE(theme.decisions_size(), 1) << theme.theme().name();
    for (const auto& d : theme.decisions()) {
      EXPECT_THAT(d.summary(), ::testing::StartsWith("[Illustrative]"));
    }
  }

  // A restart on the same store does not seed again.
  server_.host->Shutdown();
  server_.host.reset();
  server_.Start(dorset::testing::TestServerConfig("engagement", dir_.path()));
  v1::ListActivitiesResponse listed;
  ASSERT_TRUE(stub().ListActivities(Ctx().get(), v1::ListActivitiesRequest(), &listed).ok());
  EXPECT_EQ(listed.activities_size(), 1);
}

}  // namespace
}  // namespace dorset::engagement::testing
