// The bulk-load path of the synthetic generator: its counters must equal a recount of the rows
// it wrote (the aggregates benchmark reads those counters).
#include <map>

#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_engine.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/engagement.h"
#include "services/engagement/synthetic/synthetic_responses.h"

namespace dorset::engagement {
namespace {

TEST(BulkLoadTest, CountersEqualARecountOfTheStoredRows) {
  dorset::testing::TempDir dir;
  auto database = dorset::testing::TestDatabaseFor(dir.path());
  ASSERT_TRUE(database.ok()) << database.status();
  auto store = EngagementStore::Open(*database, dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  Engagement engagement(**store, nullptr, runtime::PageTokenCodec(std::string(32, 'k')));
  runtime::Caller admin;
  admin.roles = {"admin"};
  v1::CreateActivityRequest create;
  create.set_activity_id("bulk");
  create.mutable_activity()->set_kind(v1::ACTIVITY_KIND_SURVEY);
  create.mutable_activity()->set_title("[SYNTHETIC] bulk");
  v1::Activity activity;
  ASSERT_TRUE(engagement.activities().CreateActivity(admin, create, &activity).ok());
  std::vector<std::string> themes;
  for (const char* id : {"t1", "t2", "t3"}) {
    v1::CreateThemeRequest theme;
    theme.set_parent("activities/bulk");
    theme.set_theme_id(id);
    theme.mutable_theme()->set_display_name(id);
    v1::Theme out;
    ASSERT_TRUE(engagement.themes_and_decisions().CreateTheme(admin, theme, &out).ok());
    themes.push_back(out.name());
  }
  SyntheticResponses generator({3, themes, {"localities/x", "localities/y", "localities/z"}});
  std::vector<v1::Response> responses;
  std::map<std::string, int64_t> by_channel, by_locality, by_theme;
  for (int i = 0; i < 25000; ++i) {  // more than one internal batch
    responses.push_back(generator.Next());
    by_channel[ChannelKey(responses.back().channel())]++;  // the stored key spelling
    by_locality[responses.back().locality()]++;
    for (const auto& t : responses.back().themes()) by_theme[t]++;
  }
  ASSERT_TRUE(engagement.BulkLoadResponses("bulk", responses).ok());

  v1::GetActivityAggregatesRequest request;
  request.set_name("activities/bulk/aggregates");
  v1::ActivityAggregates a;
  ASSERT_TRUE(engagement.aggregates().GetActivityAggregates(request, &a).ok());
  EXPECT_EQ(a.total_responses(), 25000);
  auto to_map = [](const auto& counts) {
    std::map<std::string, int64_t> m;
    for (const auto& c : counts) m[c.key()] = c.responses();
    return m;
  };
  EXPECT_EQ(to_map(a.by_channel()), by_channel);
  EXPECT_EQ(to_map(a.by_locality()), by_locality);
  EXPECT_EQ(to_map(a.by_theme()), by_theme);

  // And the rows themselves agree (recount straight from the table).
  std::map<std::string, int64_t> recount;
  const absl::Status read = (*store)->Read([&](runtime::storage::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(runtime::storage::Statement stmt,
                     tx.Prepare("SELECT channel, COUNT(*) FROM response WHERE activity_id = "
                                "'bulk' GROUP BY channel"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      recount[ChannelKey(static_cast<v1::Channel>(stmt.Int(0)))] = stmt.Int(1);
    }
  });
  ASSERT_TRUE(read.ok()) << read;
  EXPECT_EQ(recount, by_channel);
}

// A bulk load writes responses without opening the activity: a DRAFT activity with responses is
// a consultation record too and is not deleted, nor are the themes its responses are tagged with.
TEST(BulkLoadTest, DraftActivityWithBulkLoadedResponsesIsNotDeleted) {
  dorset::testing::TempDir dir;
  auto database = dorset::testing::TestDatabaseFor(dir.path());
  ASSERT_TRUE(database.ok()) << database.status();
  auto store = EngagementStore::Open(*database, dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  Engagement engagement(**store, nullptr, runtime::PageTokenCodec(std::string(32, 'k')));
  runtime::Caller admin;
  admin.roles = {"admin"};
  v1::CreateActivityRequest create;
  create.set_activity_id("loaded");
  create.mutable_activity()->set_kind(v1::ACTIVITY_KIND_SURVEY);
  create.mutable_activity()->set_title("[SYNTHETIC] loaded");
  v1::Activity activity;
  ASSERT_TRUE(engagement.activities().CreateActivity(admin, create, &activity).ok());
  v1::CreateThemeRequest theme;
  theme.set_parent("activities/loaded");
  theme.set_theme_id("t1");
  theme.mutable_theme()->set_display_name("t1");
  v1::Theme t1;
  ASSERT_TRUE(engagement.themes_and_decisions().CreateTheme(admin, theme, &t1).ok());
  SyntheticResponses generator({7, {t1.name()}, {"localities/x"}});
  std::vector<v1::Response> responses;
  for (int i = 0; i < 20; ++i) {
    responses.push_back(generator.Next());
    responses.back().clear_themes();
    responses.back().add_themes(t1.name());
  }
  ASSERT_TRUE(engagement.BulkLoadResponses("loaded", responses).ok());
  v1::GetActivityAggregatesRequest aggregates;
  aggregates.set_name("activities/loaded/aggregates");
  v1::ActivityAggregates before, after;
  ASSERT_TRUE(engagement.aggregates().GetActivityAggregates(aggregates, &before).ok());
  ASSERT_EQ(before.total_responses(), 20);

  v1::DeleteActivityRequest remove;
  remove.set_name("activities/loaded");
  google::protobuf::Empty empty;
  absl::Status refused = engagement.activities().DeleteActivity(remove, &empty);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  v1::DeleteThemeRequest remove_theme;
  remove_theme.set_name(t1.name());
  refused = engagement.themes_and_decisions().DeleteTheme(remove_theme, &empty);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;

  v1::GetActivityRequest get;
  get.set_name("activities/loaded");
  EXPECT_TRUE(engagement.activities().GetActivity(get, &activity).ok());
  ASSERT_TRUE(engagement.aggregates().GetActivityAggregates(aggregates, &after).ok());
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
}

}  // namespace
}  // namespace dorset::engagement
