// Decision delivery tracking through the API with real tokens: the rules (status, reason,
// percentage, milestones), the history with who and when, the etag moving with each change, and
// the delivery in "you said, we did" per theme and in the consultation report.
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kEditor[] = "tok-editor";
constexpr char kReader[] = "tok-reader";

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::ServerConfig config = dorset::testing::TestServerConfig("engagement", dir_.path());
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = tokens_.File("tokens");
    dorset::testing::WriteTokensFile(config.tokens_file, {{kEditor, "editor", "engagement-editor"},
                                                          {kReader, "reader", "reader"}});
    server_.Start(config);
    MakeActivity(stub(), "beds", kEditor);
    MakeTheme(stub(), "beds", "community", kEditor);
    MakeTheme(stub(), "beds", "travel", kEditor);
    for (const char* id : {"hub", "bus"}) {
      v1::CreateDecisionRequest create;
      create.set_parent("activities/beds");
      create.set_decision_id(id);
      create.mutable_decision()->set_summary(absl::StrCat("Decision ", id));
      create.mutable_decision()->add_themes("activities/beds/themes/community");
      create.mutable_decision()->set_published(true);
      v1::Decision made;
      ASSERT_TRUE(stub().CreateDecision(Ctx(kEditor).get(), create, &made).ok());
      EXPECT_EQ(made.delivery().status(), v1::DELIVERY_STATUS_PLANNED);
    }
  }
  void TearDown() override {
    if (server_.host) server_.host->Shutdown();
  }
  v1::EngagementService::Stub& stub() { return *server_.stub; }

  grpc::Status Update(const std::string& id, v1::DeliveryStatus status, int percent,
                      const std::string& reason, v1::Decision* out,
                      const std::string& token = kEditor, const std::string& etag = "") {
    v1::UpdateDecisionDeliveryRequest request;
    request.set_name("activities/beds/decisions/" + id);
    request.mutable_delivery()->set_status(status);
    request.mutable_delivery()->set_percent_complete(percent);
    request.mutable_delivery()->set_reason(reason);
    request.set_note("board update");
    request.set_etag(etag);
    v1::Milestone* m = request.mutable_delivery()->add_milestones();
    m->set_title("Site agreed");
    m->mutable_due_time()->set_seconds(1800000000);
    return stub().UpdateDecisionDelivery(Ctx(token).get(), request, out);
  }

  dorset::testing::TempDir dir_, tokens_;
  EngagementServer server_;
};

TEST_F(DeliveryTest, ChangesAreCheckedAndKeptAsHistory) {
  v1::Decision d;
  ASSERT_TRUE(Update("hub", v1::DELIVERY_STATUS_IN_PROGRESS, 40, "", &d).ok());
  EXPECT_EQ(d.delivery().status(), v1::DELIVERY_STATUS_IN_PROGRESS);
  EXPECT_EQ(d.delivery().percent_complete(), 40);
  EXPECT_EQ(d.delivery().updated_by(), "editor");
  ASSERT_EQ(d.delivery().milestones_size(), 1);
  const std::string etag = d.etag();

  // The rules, each naming its field.
  EXPECT_EQ(Update("hub", v1::DELIVERY_STATUS_NOT_GOING_AHEAD, 40, "", &d).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Update("hub", v1::DELIVERY_STATUS_DELIVERED, 90, "", &d).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Update("hub", v1::DELIVERY_STATUS_IN_PROGRESS, 101, "", &d).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Update("hub", v1::DELIVERY_STATUS_UNSPECIFIED, 0, "", &d).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Update("nope", v1::DELIVERY_STATUS_IN_PROGRESS, 1, "", &d).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Readers cannot change it.
  EXPECT_EQ(Update("hub", v1::DELIVERY_STATUS_IN_PROGRESS, 50, "", &d, kReader).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  ASSERT_TRUE(
      Update("hub", v1::DELIVERY_STATUS_NOT_GOING_AHEAD, 40, "site fell through", &d, kEditor, etag)
          .ok());
  EXPECT_EQ(d.delivery().reason(), "site fell through");
  // The etag moved with the change: the old one is stale now.
  EXPECT_EQ(Update("hub", v1::DELIVERY_STATUS_IN_PROGRESS, 50, "", &d, kEditor, etag).error_code(),
            grpc::StatusCode::ABORTED);

  v1::ListDeliveryChangesRequest list;
  list.set_parent("activities/beds/decisions/hub");
  list.set_page_size(1);
  v1::ListDeliveryChangesResponse page;
  ASSERT_TRUE(stub().ListDeliveryChanges(Ctx(kReader).get(), list, &page).ok());
  ASSERT_EQ(page.delivery_changes_size(), 1);
  EXPECT_EQ(page.delivery_changes(0).name(), "activities/beds/decisions/hub/deliveryChanges/1");
  EXPECT_EQ(page.delivery_changes(0).delivery().status(), v1::DELIVERY_STATUS_IN_PROGRESS);
  EXPECT_EQ(page.delivery_changes(0).note(), "board update");
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(stub().ListDeliveryChanges(Ctx(kReader).get(), list, &page).ok());
  ASSERT_EQ(page.delivery_changes_size(), 1);
  EXPECT_EQ(page.delivery_changes(0).delivery().status(), v1::DELIVERY_STATUS_NOT_GOING_AHEAD);
  EXPECT_TRUE(page.delivery_changes(0).delivery().has_update_time());
  EXPECT_TRUE(page.next_page_token().empty());
}

TEST_F(DeliveryTest, YouSaidWeDidShowsHowFarEachThemesDecisionsHaveGot) {
  v1::Decision d;
  ASSERT_TRUE(Update("hub", v1::DELIVERY_STATUS_DELIVERED, 100, "", &d).ok());
  // Through the real dorsetctl.
  ASSERT_EQ(std::system(absl::StrCat(DORSET_CTL_BINARY,
                                     " engagement delivery activities/beds/decisions/bus "
                                     "--status=IN_PROGRESS --percent=20 --note=started "
                                     "--milestones='Route agreed|2027-01-31|2027-01-15;"
                                     "Buses running|2027-09-30' --target=127.0.0.1:",
                                     server_.host->grpc_port(), " --token=", kEditor, " >/dev/null")
                            .c_str()),
            0);
  // A later step without --milestones keeps them (the request replaces the whole delivery).
  ASSERT_EQ(std::system(absl::StrCat(DORSET_CTL_BINARY,
                                     " engagement delivery activities/beds/decisions/bus "
                                     "--status=IN_PROGRESS --percent=30 --target=127.0.0.1:",
                                     server_.host->grpc_port(), " --token=", kEditor, " >/dev/null")
                            .c_str()),
            0);
  // A malformed list is refused by dorsetctl itself (exit 2), nothing sent.
  EXPECT_NE(
      std::system(absl::StrCat(DORSET_CTL_BINARY,
                               " engagement delivery activities/beds/decisions/bus "
                               "--status=IN_PROGRESS --milestones='Soon|next week' "
                               "--target=127.0.0.1:",
                               server_.host->grpc_port(), " --token=", kEditor, " >/dev/null 2>&1")
                      .c_str()),
      0);
  {
    v1::GetDecisionRequest get;
    get.set_name("activities/beds/decisions/bus");
    v1::Decision bus;
    ASSERT_TRUE(stub().GetDecision(Ctx(kReader).get(), get, &bus).ok());
    EXPECT_EQ(bus.delivery().percent_complete(), 30);
    ASSERT_EQ(bus.delivery().milestones_size(), 2);
    EXPECT_EQ(bus.delivery().milestones(0).title(), "Route agreed");
    EXPECT_EQ(bus.delivery().milestones(0).due_time().seconds(), 1801353600);       // 2027-01-31
    EXPECT_EQ(bus.delivery().milestones(0).complete_time().seconds(), 1799971200);  // 01-15
    EXPECT_FALSE(bus.delivery().milestones(1).has_complete_time());
  }
  ASSERT_TRUE(Open(stub(), "beds", kEditor).ok());
  v1::CloseActivityRequest close;
  close.set_name("activities/beds");
  v1::Activity activity;
  ASSERT_TRUE(stub().CloseActivity(Ctx(kEditor).get(), close, &activity).ok());
  v1::PublishOutcomeRequest publish;
  publish.set_name("activities/beds");
  publish.set_outcome_summary("We will build the hub.");
  ASSERT_TRUE(stub().PublishOutcome(Ctx(kEditor).get(), publish, &activity).ok());

  v1::GetYouSaidWeDidRequest request;
  request.set_name("activities/beds/youSaidWeDid");
  v1::YouSaidWeDid ysd;
  ASSERT_TRUE(stub().GetYouSaidWeDid(Ctx(kReader).get(), request, &ysd).ok());
  bool seen = false;
  for (const auto& theme : ysd.themes()) {
    if (theme.theme().name() != "activities/beds/themes/community") {
      EXPECT_EQ(theme.decisions_size(), 0);
      continue;
    }
    seen = true;
    ASSERT_EQ(theme.decisions_size(), 2);
    EXPECT_EQ(theme.percent_complete(), 65);  // (100 + 30) / 2
    ASSERT_EQ(theme.decisions_by_delivery_status_size(), 2);
    EXPECT_EQ(theme.decisions_by_delivery_status(0).key(), "DELIVERED");
    EXPECT_EQ(theme.decisions_by_delivery_status(1).key(), "IN_PROGRESS");
    for (const auto& decision : theme.decisions()) EXPECT_TRUE(decision.has_delivery());
  }
  EXPECT_TRUE(seen);

  v1::GetConsultationReportRequest report_request;
  report_request.set_name("activities/beds/consultationReport");
  v1::ConsultationReport report;
  ASSERT_TRUE(stub().GetConsultationReport(Ctx(kReader).get(), report_request, &report).ok());
  EXPECT_THAT(report.html(), HasSubstr("<td>DELIVERED</td><td>100 %</td>"));
  EXPECT_THAT(report.html(), HasSubstr("<td>IN_PROGRESS</td><td>30 %</td>"));
}

}  // namespace
}  // namespace dorset::engagement::testing
