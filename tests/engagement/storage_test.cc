// Engagement's store on the storage lane (services/engagement/storage/): its schema on each
// engine (ctest labels `sqlite` and `postgres`) holds what the service writes — an activity, a
// theme, a stakeholder, a response with its counter cells, a request record — and SQLite's
// connections zero erased content (secure_delete); and an engagement.db written by the pre-lane
// store (runtime/sqlite Migrate, PRAGMA user_version 3) is adopted with its data, not migrated
// again; its request_log moves into the lane's idempotency record (step 4).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/idempotency.h"
#include "runtime/testing/temp_dir.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/counter_rows.h"
#include "services/engagement/storage/response_batch.h"
#include "services/engagement/storage/response_rows.h"
#include "services/engagement/storage/store.h"
#include "tests/engagement/pre_lane_store.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::engagement {
namespace {

using runtime::storage::Engine;
using runtime::storage::IdempotencyRecord;
using runtime::storage::RequestKey;
using runtime::storage::Statement;
using runtime::storage::Transaction;

absl::StatusOr<int64_t> Count(EngagementStore& store, const std::string& sql) {
  return store.Read([&](Transaction& tx) -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::InternalError("no row");
    return stmt.Int(0);
  });
}

class EngagementStorageTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    std::string database;
    DORSET_DATABASE_FOR_ENGINE(GetParam(), database);
    absl::StatusOr<std::unique_ptr<EngagementStore>> store =
        EngagementStore::Open(database, dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  dorset::testing::TempDir dir_;
  std::unique_ptr<EngagementStore> store_;
};

TEST_P(EngagementStorageTest, TheSchemaHoldsWhatTheServiceWrites) {
  EXPECT_EQ(store_->engine(), GetParam());
  absl::StatusOr<int64_t> first = store_->Write([](Transaction& tx) -> absl::StatusOr<int64_t> {
    RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO activity (id, kind, title, purpose, localities, finance_scheme, state, "
        "outcome_summary, reported_participants, reported_source, create_time, update_time, "
        "version, allowed_practices) VALUES ('a1', 1, 'T', 'P', '', '', 1, '', 0, '', 1, 1, 1, "
        "'practices/J81001');"
        "INSERT INTO theme (activity_id, id, display_name, description, create_time, "
        "update_time, version) VALUES ('a1', 'access', 'Access', '', 1, 1, 1);"
        "INSERT INTO stakeholder (id, kind, display_name, organisation, email, phone, "
        "postal_address, contact_consent, publish_consent, locality, create_time, update_time, "
        "version) VALUES ('s1', 1, 'Pat', '', 'pat@example.org', '', '', 1, 0, '', 1, 1, 1);"
        "INSERT INTO idempotency_record (request_id, method, principal, request_hash, reply, "
        "create_micros) VALUES ('r-1', 'CreateResponse', 'alice', 'h', "
        "'activities/a1/responses/1', 1);"));
    ASSIGN_OR_RETURN(Statement insert,
                     tx.Prepare("INSERT INTO response (activity_id, stakeholder_id, text, "
                                "channel, locality, practice, themes, sentiment, "
                                "publish_consent, create_time, update_time, version) VALUES "
                                "(?, ?, ?, 1, '', '', 'access', 2, 0, 1, 1, 1) RETURNING id"));
    insert.Bind(1, "a1").Bind(2, "s1").Bind(3, "text");
    ASSIGN_OR_RETURN(bool row, insert.Step());
    if (!row) return absl::InternalError("RETURNING gave no row");
    const int64_t id = insert.Int(0);
    insert.Reset();
    ASSIGN_OR_RETURN(Statement bump, tx.Prepare(kBumpCounterSql));
    for (int i = 0; i < 2; ++i) {
      bump.Reset();
      RETURN_IF_ERROR(bump.Bind(1, "a1").Bind(2, kDimTotal).Bind(3, "").Bind(4, int64_t{1}).Run());
    }
    return id;
  });
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 1);  // response ids start at 1 on both engines
  EXPECT_EQ(*Count(*store_, "SELECT n FROM response_count WHERE activity_id = 'a1'"), 2);
  EXPECT_EQ(
      *Count(*store_, "SELECT COUNT(*) FROM activity WHERE allowed_practices = 'practices/J81001'"),
      1);
  // A request_id is unique in the service (whatever the method).
  const absl::Status again = store_->Write([](Transaction& tx) {
    return tx.Exec(
        "INSERT INTO idempotency_record (request_id, method, principal, request_hash, reply, "
        "create_micros) VALUES ('r-1', 'CreateTheme', 'alice', 'h', 'x', 2)");
  });
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  // A theme belongs to an existing activity.
  const absl::Status orphan = store_->Write([](Transaction& tx) {
    return tx.Exec(
        "INSERT INTO theme (activity_id, id, display_name, description, create_time, "
        "update_time, version) VALUES ('nope', 't', 'T', '', 1, 1, 1)");
  });
  EXPECT_EQ(orphan.code(), absl::StatusCode::kFailedPrecondition) << orphan;
  if (GetParam() == Engine::kSqlite) {
    // Every connection zeroes erased content (personal data): the writer and the readers.
    EXPECT_EQ(*Count(*store_, "PRAGMA secure_delete"), 1);
    absl::StatusOr<int64_t> writer = store_->Write([](Transaction& tx) -> absl::StatusOr<int64_t> {
      ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("PRAGMA secure_delete"));
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      return row ? stmt.Int(0) : -1;
    });
    ASSERT_TRUE(writer.ok()) << writer.status();
    EXPECT_EQ(*writer, 1);
  }
}

// The group writer sums each response's counter cells as it goes (found again by hash, issue 16):
// the group's sums are exactly the cells of CounterCells added once per response, across
// activities, shared cells and cells of one response only.
TEST_P(EngagementStorageTest, AResponseBatchSumsEveryResponsesCounterCells) {
  struct Given {
    std::string activity;
    v1::Channel channel;
    v1::Sentiment sentiment;
    std::string locality;
    std::vector<std::string> themes;
  };
  const std::vector<Given> responses = {
      {"a1", v1::CHANNEL_ONLINE, v1::SENTIMENT_OPPOSED, "localities/x", {"access"}},
      {"a1", v1::CHANNEL_ONLINE, v1::SENTIMENT_OPPOSED, "localities/y", {"access", "cost"}},
      {"a2", v1::CHANNEL_ONLINE, v1::SENTIMENT_OPPOSED, "localities/x", {"access"}},
      {"a1", v1::CHANNEL_LETTER, v1::SENTIMENT_UNSPECIFIED, "", {}},
      {"a1", v1::CHANNEL_ONLINE, v1::SENTIMENT_SUPPORTIVE, "localities/x", {"cost"}},
  };
  CounterSums expected;
  for (const Given& r : responses) {
    AddCells(expected, r.activity, CounterCells(r.channel, r.sentiment, r.locality, r.themes), 1);
  }
  const absl::Status written = store_->Write([&](Transaction& tx) -> absl::Status {
    ResponseBatch batch(tx);
    for (const Given& r : responses) {
      batch.AddToCounters(r.activity, r.channel, r.sentiment, r.locality, r.themes);
    }
    EXPECT_EQ(batch.sums(), expected);
    return absl::OkStatus();
  });
  EXPECT_TRUE(written.ok()) << written;
  EXPECT_EQ(expected.at({"a1", kDimTotal, ""}), 4);
  EXPECT_EQ(expected.at({"a1", kDimThemeSentiment, "access/OPPOSED"}), 2);
}

// A group's responses (issue 16): on SQLite kept and written by Flush in multi-row INSERTs, under
// the ids SQLite would have given them one at a time (the largest plus one, on from there); on
// PostgreSQL inserted at once. Either way every column is stored as given, and a response read
// back inside the group (a request_id repeated there) is found before Flush.
TEST_P(EngagementStorageTest, AResponseBatchWritesItsResponsesWithTheTablesNextIds) {
  const absl::Status seeded = store_->Write([](Transaction& tx) {
    return tx.Exec(
        "INSERT INTO activity (id, kind, title, purpose, localities, finance_scheme, state, "
        "outcome_summary, reported_participants, reported_source, create_time, update_time, "
        "version) VALUES ('a1', 1, 'T', 'P', '', '', 2, '', 0, '', 1, 1, 1);"
        "INSERT INTO response (id, activity_id, text, channel, locality, practice, themes, "
        "sentiment, publish_consent, create_time, update_time, version) VALUES "
        "(41, 'a1', 'before', 1, '', '', '', 0, 0, 1, 1, 1)");
  });
  ASSERT_TRUE(seeded.ok()) << seeded;
  v1::Response given;
  given.set_text("[SYNTHETIC] walk-in");
  given.set_channel(v1::CHANNEL_EVENT);
  given.set_locality("localities/poole");
  given.set_practice("practices/J81001");
  given.set_sentiment(v1::SENTIMENT_OPPOSED);
  given.set_publish_consent(true);
  given.add_themes(ThemeName("a1", "access"));
  v1::ThemeAssignment* assignment = given.add_theme_assignments();
  assignment->set_theme(ThemeName("a1", "access"));
  assignment->set_method(v1::THEME_ASSIGNMENT_METHOD_ON_CREATION);
  assignment->set_assigned_by("alice");
  SetTimestamp(assignment->mutable_assign_time(), 7);
  const std::string activity = "a1", anonymous, stakeholder = "s1";
  const std::vector<std::string> themes = {"access"};
  absl::StatusOr<std::vector<int64_t>> ids =
      store_->Write([&](Transaction& tx) -> absl::StatusOr<std::vector<int64_t>> {
        ResponseBatch batch(tx);
        std::vector<int64_t> ids;
        for (int i = 0; i < 3; ++i) {
          ASSIGN_OR_RETURN(int64_t id,
                           batch.InsertResponse(activity, i == 1 ? stakeholder : anonymous, given,
                                                themes, 100 + i));
          ids.push_back(id);
          ASSIGN_OR_RETURN(v1::Response read, batch.LoadResponse(activity, ids[0]));
          EXPECT_EQ(read.text(), given.text());
        }
        RETURN_IF_ERROR(batch.Flush());
        return ids;
      });
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), 3u);
  if (GetParam() == Engine::kSqlite) {
    EXPECT_EQ(*ids, (std::vector<int64_t>{42, 43, 44}));
  } else {
    EXPECT_LT((*ids)[0], (*ids)[1]);
    EXPECT_LT((*ids)[1], (*ids)[2]);
  }
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<v1::Response> stored = store_->Write([&](Transaction& tx) {
      return LoadResponse(tx, activity, (*ids)[static_cast<size_t>(i)]);
    });
    ASSERT_TRUE(stored.ok()) << stored.status();
    v1::Response expected = given;
    expected.set_name(ResponseName(activity, (*ids)[static_cast<size_t>(i)]));
    if (i == 1) expected.set_stakeholder("stakeholders/s1");
    SetTimestamp(expected.mutable_create_time(), 100 + i);
    SetTimestamp(expected.mutable_update_time(), 100 + i);
    expected.set_etag(Etag(1));
    EXPECT_EQ(stored->SerializeAsString(), expected.SerializeAsString()) << stored->DebugString();
  }
  EXPECT_EQ(*Count(*store_, "SELECT COUNT(*) FROM response WHERE version = 1"), 4);
}

INSTANTIATE_TEST_SUITE_P(Engines, EngagementStorageTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

// The pre-lane store wrote engagement.db through runtime/sqlite (PRAGMA user_version 3); the lane
// records those three steps as schema_migrations rows and keeps the data.
TEST(EngagementStorageAdoptionTest, APreLaneStoreOpensWithItsDataAndIsNotMigratedAgain) {
  dorset::testing::TempDir dir;
  {
    absl::StatusOr<std::unique_ptr<Store>> old = Store::Open(dir.File("engagement.db"), 1);
    ASSERT_TRUE(old.ok()) << old.status();
    absl::MutexLock lock(&(*old)->write_mutex());
    ASSERT_TRUE((*old)
                    ->writer()
                    .Exec("INSERT INTO activity (id, kind, title, purpose, localities, "
                          "finance_scheme, state, outcome_summary, reported_participants, "
                          "reported_source, create_time, update_time, version) VALUES ('old', 1, "
                          "'Old', '', '', '', 1, '', 0, '', 1, 1, 4);"
                          // One id used by two methods (allowed then): the earliest keeps it.
                          "INSERT INTO request_log (method, request_id, resource, create_time, "
                          "request_hash) VALUES ('CreateTheme', 'r-1', 'activities/old/themes/t', "
                          "6, 'h2'), ('CreateActivity', 'r-1', 'activities/old', 5, 'h1'), "
                          "('CreateStakeholder', 'r-2', 'stakeholders/s1', 7, '')")
                    .ok());
  }
  for (int open = 0; open < 2; ++open) {
    absl::StatusOr<std::unique_ptr<EngagementStore>> store = EngagementStore::Open("", dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(*Count(**store, "SELECT COUNT(*) FROM activity WHERE id = 'old' AND version = 4"), 1);
    // Steps 1-3 adopted, steps 4 (the idempotency record), 5, 6, 7 (issue 17), 8 (the audit
    // outbox, issue 16), 9 (the data version, issue 16), 10 (the outbox's packed rows) and 11
    // (the request log, issue 16) run once.
    EXPECT_EQ(*Count(**store, "SELECT COUNT(*) FROM schema_migrations"), 11);
    EXPECT_EQ(*Count(**store, "SELECT MAX(version) FROM schema_migrations"), 11);
    EXPECT_EQ(*Count(**store, "SELECT COUNT(*) FROM idempotency_records"), 2);
    EXPECT_EQ(*Count(**store,
                     "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                     "name = 'request_log'"),
              0);
    // The pre-lane requests moved with principal '': a caller's retry is refused (never a
    // second resource, never a reply that may be another caller's), as is any other use.
    absl::StatusOr<std::string> moved =
        (*store)->Write([](Transaction& tx) -> absl::StatusOr<std::string> {
          ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
          ASSIGN_OR_RETURN(std::optional<std::string> reply,
                           record.Find({"r-1", "CreateActivity", "", "h1"}));
          if (!reply.has_value()) return absl::NotFoundError("r-1 not moved");
          return *reply;
        });
    ASSERT_TRUE(moved.ok()) << moved.status();
    EXPECT_EQ(*moved, "activities/old");
    for (const RequestKey& retry : {RequestKey{"r-1", "CreateActivity", "alice", "h1"},
                                    RequestKey{"r-1", "CreateTheme", "", "h2"},
                                    RequestKey{"r-2", "CreateStakeholder", "alice", "h3"}}) {
      const absl::Status refused = (*store)->Write([&](Transaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(IdempotencyRecord record, IdempotencyRecord::Prepare(tx));
        return record.Find(retry).status();
      });
      EXPECT_EQ(refused.code(), absl::StatusCode::kAlreadyExists)
          << retry.request_id << " " << retry.method << " " << refused;
    }
  }
}

}  // namespace
}  // namespace dorset::engagement
