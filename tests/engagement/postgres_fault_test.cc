// Engagement on PostgreSQL when the database fails under a response load. ctest label
// `postgres_only`: SQLite has no server to lose and no serialization failure to force.
// - The server killed with kill -9 and restarted: the service stays up, its store reports
//   UNAVAILABLE (readiness NOT_SERVING) and responses are refused with UNAVAILABLE while the
//   server is away, it reconnects by itself, and afterwards every acknowledged response is there
//   exactly once.
// - The server away when the service starts: NOT_SERVING, then seeded and serving once it is back.
// - A serialization failure (SQLSTATE 40001, raised by a trigger: a real PostgreSQL error through
//   the real engine) in a group's response INSERT (sent with the commit) fails the whole group,
//   which runs again as a whole: every response is acknowledged and stored exactly once, none
//   answered with the failure.
// - A group's write failing in the commit's pipeline (a unique violation: the transaction's
//   ALREADY_EXISTS, which the group committer answers UNAVAILABLE to each call, nothing written)
//   commits nothing of it; the connection lost in that pipeline is UNAVAILABLE and the group is
//   not run again.
#include <chrono>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/postgres_server.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/engagement/engagement_module.h"
#include "tests/engagement/response_load.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::engagement {
namespace {

using testing::ResponseLoad;
using testing::WaitUntil;

struct Started {
  std::unique_ptr<runtime::ServiceHost> host;
  EngagementModule* module = nullptr;
  std::unique_ptr<v1::EngagementService::Stub> stub;
};

Started StartOn(const std::string& database, const std::string& data_dir) {
  runtime::ServerConfig config = dorset::testing::TestServerConfig("engagement", data_dir);
  config.database = database;
  auto module = std::make_unique<EngagementModule>();
  Started started;
  started.module = module.get();
  auto host = runtime::ServiceHost::Start(config, std::move(module));
  EXPECT_TRUE(host.ok()) << host.status();
  if (!host.ok()) return started;
  started.host = *std::move(host);
  started.stub =
      v1::EngagementService::NewStub(dorset::testing::LocalChannel(started.host->grpc_port()));
  return started;
}

TEST(EngagementPostgresFault, ServerKilledMidLoadMeansUnavailableThenEveryAckedResponseOnce) {
  DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Start(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  dorset::testing::TempDir dir;
  Started engagement = StartOn(*uri, dir.path());
  ASSERT_NE(engagement.host, nullptr);
  testing::OpenLoadActivity(*engagement.stub, "pg-kill-load");

  ResponseLoad load(engagement.stub.get(), "pg-kill-load", 4, "pgkill");
  EXPECT_TRUE(WaitUntil([&] { return load.acked() >= 100; }));
  pg->Kill9();
  // While the server is away: the store says so and responses are refused as UNAVAILABLE.
  EXPECT_TRUE(WaitUntil([&] { return !engagement.module->CheckStore().ok(); }));
  EXPECT_EQ(engagement.module->CheckStore().code(), absl::StatusCode::kUnavailable);
  const int unavailable_before = load.unavailable();
  EXPECT_TRUE(WaitUntil([&] { return load.unavailable() > unavailable_before; }));
  const int acked_while_down = load.acked();
  ASSERT_TRUE(pg->Restart().ok());
  // Back by itself: healthy again, and responses are acknowledged again.
  EXPECT_TRUE(WaitUntil([&] { return engagement.module->CheckStore().ok(); }));
  EXPECT_TRUE(WaitUntil([&] { return load.acked() >= acked_while_down + 100; }));
  load.Stop();
  EXPECT_EQ(load.other(), 0);
  EXPECT_GT(load.unavailable(), 0);
  load.ExpectEveryAckedResponseOnce(*engagement.stub);
}

// PostgreSQL away when the service starts: it starts anyway (no crash loop), NOT_SERVING and
// refusing calls with UNAVAILABLE, and at the first contact after the server is back it
// migrates, writes its seed consultation and serves.
TEST(EngagementPostgresFault, ServerAwayAtStartMeansNotServingThenSeededAndServing) {
  DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Start(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  pg->Stop();
  dorset::testing::TempDir dir;
  Started engagement = StartOn(*uri, dir.path());
  ASSERT_NE(engagement.host, nullptr);  // started: no crash loop
  EXPECT_EQ(engagement.module->CheckStore().code(), absl::StatusCode::kUnavailable);
  const auto list = [&](int* activities) {
    grpc::ClientContext context;
    v1::ListActivitiesResponse page;
    grpc::Status status = engagement.stub->ListActivities(&context, {}, &page);
    *activities = page.activities_size();
    return status;
  };
  int activities = -1;
  EXPECT_EQ(list(&activities).error_code(), grpc::StatusCode::UNAVAILABLE);

  ASSERT_TRUE(pg->Restart().ok());
  EXPECT_TRUE(WaitUntil([&] { return engagement.module->CheckStore().ok(); }));
  const grpc::Status status = list(&activities);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(activities, 1);  // the seed consultation, written at the first contact
}

TEST(EngagementSerializationFailure, InOneResponsesSavepointRerunsTheWholeGroup) {
  DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Shared(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  const std::string dbname = uri->substr(uri->rfind('/') + 1, uri->find('?') - uri->rfind('/') - 1);
  dorset::testing::TempDir dir;
  Started engagement = StartOn(*uri, dir.path());
  ASSERT_NE(engagement.host, nullptr);
  testing::OpenLoadActivity(*engagement.stub, "conflict-load");
  // Five response inserts fail with a serialization failure, some in the middle of a group. A
  // sequence is not transactional, so the transaction run again goes past the failed insert.
  ASSERT_TRUE(pg->Sql(dbname, R"sql(
      CREATE SEQUENCE forced_conflict;
      CREATE FUNCTION forced_conflict() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('forced_conflict') IN (3, 17, 40, 77, 120) THEN
          RAISE EXCEPTION 'forced serialization failure' USING ERRCODE = '40001';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER forced_conflict BEFORE INSERT ON response
        FOR EACH ROW EXECUTE FUNCTION forced_conflict();)sql")
                  .ok());

  // 8 clients x 25 responses: groups of several responses, several failing in the middle.
  ResponseLoad load(engagement.stub.get(), "conflict-load", 8, "conflict", 25);
  load.Join();
  EXPECT_EQ(load.other(), 0);  // none answered with the failure (ABORTED) or anything else
  EXPECT_EQ(load.acked(), 200);
  load.ExpectEveryAckedResponseOnce(*engagement.stub);
}

// One CreateResponse with `request_id` and `text`: its status.
grpc::StatusCode CreateOne(v1::EngagementService::Stub& stub, const std::string& activity,
                           const std::string& request_id, const std::string& text) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::CreateResponseRequest request;
  request.set_parent("activities/" + activity);
  request.set_request_id(request_id);
  request.mutable_response()->set_channel(v1::CHANNEL_ONLINE);
  request.mutable_response()->set_sentiment(v1::SENTIMENT_SUPPORTIVE);
  request.mutable_response()->set_text(text);
  v1::Response out;
  return stub.CreateResponse(&context, request, &out).error_code();
}

TEST(EngagementPostgresFault, AWriteFailingInTheCommitPipelineCommitsNothingOfItsGroup) {
  DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Shared(), pg);
  absl::StatusOr<std::string> uri = pg->CreateDatabase();
  ASSERT_TRUE(uri.ok()) << uri.status();
  const std::string dbname = uri->substr(uri->rfind('/') + 1, uri->find('?') - uri->rfind('/') - 1);
  dorset::testing::TempDir dir;
  Started engagement = StartOn(*uri, dir.path());
  ASSERT_NE(engagement.host, nullptr);
  testing::OpenLoadActivity(*engagement.stub, "pipeline-fault");
  // The response rows are written by one statement sent with the group's request records,
  // counters, audit rows, data-version bump and COMMIT: a "duplicate" row fails it with a unique
  // violation, a "lost" one ends the backend (counted, as a sequence is not transactional).
  ASSERT_TRUE(pg->Sql(dbname, R"sql(
      CREATE SEQUENCE lost_seen;
      CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.text LIKE 'duplicate%' THEN
          RAISE EXCEPTION 'forced duplicate' USING ERRCODE = '23505';
        END IF;
        IF NEW.text LIKE 'lost%' THEN
          PERFORM nextval('lost_seen');
          PERFORM pg_terminate_backend(pg_backend_pid());
          PERFORM pg_sleep(5);
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER poison BEFORE INSERT ON response FOR EACH ROW EXECUTE FUNCTION poison();)sql")
                  .ok());
  auto& stub = *engagement.stub;
  ASSERT_EQ(CreateOne(stub, "pipeline-fault", "before", "kept before"), grpc::StatusCode::OK);
  // The group's transaction failed (ALREADY_EXISTS, logged): each call hears UNAVAILABLE,
  // retry-safe.
  EXPECT_EQ(CreateOne(stub, "pipeline-fault", "dup", "duplicate one"),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CreateOne(stub, "pipeline-fault", "lost", "lost one"), grpc::StatusCode::UNAVAILABLE);
  // Run once: a group lost in its commit's pipeline may have committed, so it never runs again.
  EXPECT_TRUE(pg->Sql(dbname, R"sql(
      DO $$ BEGIN
        IF (SELECT last_value FROM lost_seen) <> 1 THEN
          RAISE EXCEPTION 'the lost group ran % times', (SELECT last_value FROM lost_seen);
        END IF;
      END $$;)sql")
                  .ok());
  EXPECT_TRUE(WaitUntil([&] { return engagement.module->CheckStore().ok(); }));
  // Nothing of either group committed: their request ids are new, so the same requests now
  // create their responses (a record committed without its row would replay a missing one).
  ASSERT_TRUE(pg->Sql(dbname, "DROP TRIGGER poison ON response").ok());
  EXPECT_EQ(CreateOne(stub, "pipeline-fault", "dup", "duplicate one"), grpc::StatusCode::OK);
  EXPECT_EQ(CreateOne(stub, "pipeline-fault", "lost", "lost one"), grpc::StatusCode::OK);
  EXPECT_EQ(CreateOne(stub, "pipeline-fault", "dup", "duplicate one"), grpc::StatusCode::OK);
  // Each stored once, and the counters (written in the same statements' pipeline) agree.
  ResponseLoad none(engagement.stub.get(), "pipeline-fault", 0, "none");
  none.ExpectEveryAckedResponseOnce(stub);
  ASSERT_TRUE(pg->Sql(dbname, R"sql(
      DO $$ BEGIN
        IF (SELECT count(*) FROM response WHERE activity_id = 'pipeline-fault') <> 3 OR
           (SELECT count(*) FROM idempotency_record
              WHERE request_id IN ('before', 'dup', 'lost')) <> 3 THEN
          RAISE EXCEPTION 'rows or records not 3';
        END IF;
      END $$;)sql")
                  .ok());
}

}  // namespace
}  // namespace dorset::engagement
