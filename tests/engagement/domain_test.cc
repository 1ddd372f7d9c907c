// Engagement's domain parts called directly, with no server, channel or gRPC type: the store on
// the run's engine, Engagement for the resources, and DecisionDelivery's rules and history over
// the same store (issue 12: domain code tested without gRPC).
#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_engine.h"
#include "services/engagement/domain/delivery.h"
#include "services/engagement/domain/engagement.h"

namespace dorset::engagement {
namespace {

TEST(DeliveryRulesTest, EachRuleNamesItsField) {
  v1::Delivery d;
  EXPECT_EQ(ValidateDelivery(d).code(), absl::StatusCode::kInvalidArgument);
  d.set_status(v1::DELIVERY_STATUS_PLANNED);
  EXPECT_TRUE(ValidateDelivery(d).ok());
  d.set_percent_complete(10);
  EXPECT_NE(ValidateDelivery(d).message().find("percent_complete"), std::string::npos);
  d.set_status(v1::DELIVERY_STATUS_NOT_GOING_AHEAD);
  EXPECT_NE(ValidateDelivery(d).message().find("reason"), std::string::npos);
  d.set_reason("funding withdrawn");
  EXPECT_TRUE(ValidateDelivery(d).ok());
  d.add_milestones()->set_title("no date");
  EXPECT_NE(ValidateDelivery(d).message().find("milestones[0].due_time"), std::string::npos);
}

TEST(EngagementDomainTest, DeliveryHistoryWithoutAServer) {
  dorset::testing::TempDir dir;
  absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(dir.path());
  ASSERT_TRUE(database.ok()) << database.status();
  auto store = EngagementStore::Open(*database, dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  absl::Time now = absl::FromUnixSeconds(1800000000);
  EngagementOptions options;
  options.now = [&now] { return now; };
  Engagement engagement(**store, /*registry=*/nullptr, runtime::PageTokenCodec("domain-test-key"),
                        options);
  runtime::Caller caller;
  caller.principal = "officer";
  caller.roles = {"engagement-editor"};

  v1::CreateActivityRequest activity;
  activity.set_activity_id("clinic");
  activity.mutable_activity()->set_kind(v1::ACTIVITY_KIND_SURVEY);
  activity.mutable_activity()->set_title("Clinic hours");
  v1::Activity created;
  ASSERT_TRUE(engagement.activities().CreateActivity(caller, activity, &created).ok());
  v1::CreateDecisionRequest decision;
  decision.set_parent("activities/clinic");
  decision.set_decision_id("late");
  decision.mutable_decision()->set_summary("Open late on Thursdays");
  v1::Decision made;
  ASSERT_TRUE(engagement.themes_and_decisions().CreateDecision(caller, decision, &made).ok());
  EXPECT_EQ(made.delivery().status(), v1::DELIVERY_STATUS_PLANNED);

  DecisionDelivery delivery(**store, options.now);
  v1::UpdateDecisionDeliveryRequest update;
  update.set_name("activities/clinic/decisions/late");
  update.mutable_delivery()->set_status(v1::DELIVERY_STATUS_IN_PROGRESS);
  update.mutable_delivery()->set_percent_complete(50);
  v1::Decision updated;
  ASSERT_TRUE(delivery.Update(caller, update, &updated).ok());
  now += absl::Hours(24 * 30);
  update.mutable_delivery()->set_status(v1::DELIVERY_STATUS_DELIVERED);
  update.mutable_delivery()->set_percent_complete(100);
  ASSERT_TRUE(delivery.Update(caller, update, &updated).ok());
  EXPECT_EQ(updated.delivery().update_time().seconds(), 1800000000 + 30 * 86400);
  EXPECT_EQ(updated.delivery().updated_by(), "officer");

  v1::ListDeliveryChangesRequest list;
  list.set_parent("activities/clinic/decisions/late");
  v1::ListDeliveryChangesResponse history;
  ASSERT_TRUE(delivery.ListChanges(list, &history).ok());
  ASSERT_EQ(history.delivery_changes_size(), 2);
  EXPECT_EQ(history.delivery_changes(0).delivery().percent_complete(), 50);
  EXPECT_EQ(history.delivery_changes(1).delivery().status(), v1::DELIVERY_STATUS_DELIVERED);

  // Read back through Engagement: the decision carries its current delivery.
  v1::GetDecisionRequest get;
  get.set_name("activities/clinic/decisions/late");
  v1::Decision read;
  ASSERT_TRUE(engagement.themes_and_decisions().GetDecision(get, &read).ok());
  EXPECT_EQ(read.delivery().status(), v1::DELIVERY_STATUS_DELIVERED);
}

}  // namespace
}  // namespace dorset::engagement
