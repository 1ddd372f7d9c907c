// The AIP-135 deletes: DeleteActivity (DRAFT only), DeleteTheme (unused only), DeleteDecision
// (unpublished only); each refusal path, stale etags, unknown names, and that a refused delete
// leaves the resource and the aggregates exactly as they were.
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

using ::google::protobuf::Empty;
using ::google::protobuf::util::MessageDifferencer;
using ::grpc::StatusCode;

class DeleteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start(dorset::testing::TestServerConfig("engagement", dir_.path()));
  }
  v1::EngagementService::Stub& stub() { return *server_.stub; }

  grpc::Status DeleteActivity(const std::string& name, const std::string& etag = "") {
    v1::DeleteActivityRequest request;
    request.set_name(name);
    request.set_etag(etag);
    Empty out;
    return stub().DeleteActivity(Ctx().get(), request, &out);
  }
  grpc::Status DeleteTheme(const std::string& name, const std::string& etag = "") {
    v1::DeleteThemeRequest request;
    request.set_name(name);
    request.set_etag(etag);
    Empty out;
    return stub().DeleteTheme(Ctx().get(), request, &out);
  }
  grpc::Status DeleteDecision(const std::string& name, const std::string& etag = "") {
    v1::DeleteDecisionRequest request;
    request.set_name(name);
    request.set_etag(etag);
    Empty out;
    return stub().DeleteDecision(Ctx().get(), request, &out);
  }
  v1::Decision MakeDecision(const std::string& activity, const std::string& id,
                            std::initializer_list<std::string> themes, bool published) {
    v1::CreateDecisionRequest request;
    request.set_parent("activities/" + activity);
    request.set_decision_id(id);
    request.mutable_decision()->set_summary("Decided " + id);
    request.mutable_decision()->set_published(published);
    for (const std::string& t : themes) request.mutable_decision()->add_themes(t);
    v1::Decision out;
    grpc::Status status = stub().CreateDecision(Ctx().get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }
  v1::ActivityAggregates Aggregates(const std::string& activity) {
    v1::GetActivityAggregatesRequest request;
    request.set_name("activities/" + activity + "/aggregates");
    v1::ActivityAggregates out;
    grpc::Status status = stub().GetActivityAggregates(Ctx().get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }
  StatusCode GetActivityCode(const std::string& name) {
    v1::GetActivityRequest request;
    request.set_name(name);
    v1::Activity out;
    return stub().GetActivity(Ctx().get(), request, &out).error_code();
  }
  StatusCode GetThemeCode(const std::string& name) {
    v1::GetThemeRequest request;
    request.set_name(name);
    v1::Theme out;
    return stub().GetTheme(Ctx().get(), request, &out).error_code();
  }
  StatusCode GetDecisionCode(const std::string& name) {
    v1::GetDecisionRequest request;
    request.set_name(name);
    v1::Decision out;
    return stub().GetDecision(Ctx().get(), request, &out).error_code();
  }
  // An OPEN activity with themes "used" and "spare" and two responses tagged "used".
  void OpenWithResponses(const std::string& activity) {
    MakeActivity(stub(), activity);
    MakeTheme(stub(), activity, "used");
    MakeTheme(stub(), activity, "spare");
    ASSERT_TRUE(Open(stub(), activity).ok());
    const std::string used = "activities/" + activity + "/themes/used";
    v1::Response out;
    ASSERT_TRUE(Respond(stub(), activity,
                        ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_SUPPORTIVE, "", {used}), &out)
                    .ok());
    ASSERT_TRUE(Respond(stub(), activity,
                        ResponseOf(v1::CHANNEL_LETTER, v1::SENTIMENT_OPPOSED, "", {used}), &out)
                    .ok());
  }

  dorset::testing::TempDir dir_;
  EngagementServer server_;
};

TEST_F(DeleteTest, DraftActivityIsDeletedWithItsThemesAndDecisions) {
  v1::Activity a = MakeActivity(stub(), "draft");
  v1::Theme t = MakeTheme(stub(), "draft", "access");
  v1::Decision d = MakeDecision("draft", "plan", {t.name()}, /*published=*/false);

  ASSERT_TRUE(DeleteActivity(a.name(), a.etag()).ok());
  EXPECT_EQ(GetActivityCode(a.name()), StatusCode::NOT_FOUND);
  EXPECT_EQ(GetThemeCode(t.name()), StatusCode::NOT_FOUND);
  EXPECT_EQ(GetDecisionCode(d.name()), StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteActivity(a.name()).error_code(), StatusCode::NOT_FOUND);

  // The names are free again and nothing of the old activity comes back with them.
  MakeActivity(stub(), "draft");
  v1::ListThemesRequest list;
  list.set_parent("activities/draft");
  v1::ListThemesResponse themes;
  ASSERT_TRUE(stub().ListThemes(Ctx().get(), list, &themes).ok());
  EXPECT_EQ(themes.themes_size(), 0);
  EXPECT_EQ(Aggregates("draft").total_responses(), 0);
}

TEST_F(DeleteTest, ActivityDeleteRefusesStaleEtagUnknownAndBadNames) {
  v1::Activity a = MakeActivity(stub(), "etag");
  v1::UpdateActivityRequest update;
  update.mutable_activity()->set_name(a.name());
  update.mutable_activity()->set_title("Renamed");
  update.mutable_update_mask()->add_paths("title");
  v1::Activity updated;
  ASSERT_TRUE(stub().UpdateActivity(Ctx().get(), update, &updated).ok());

  EXPECT_EQ(DeleteActivity(a.name(), a.etag()).error_code(), StatusCode::ABORTED);
  EXPECT_EQ(GetActivityCode(a.name()), StatusCode::OK);
  EXPECT_EQ(DeleteActivity("activities/missing").error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteActivity("themes/etag").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(DeleteActivity(a.name(), updated.etag()).ok());
}

TEST_F(DeleteTest, ActivityPastDraftIsKeptAndItsAggregatesDoNotChange) {
  OpenWithResponses("kept");
  const v1::ActivityAggregates before = Aggregates("kept");
  ASSERT_EQ(before.total_responses(), 2);

  grpc::Status open = DeleteActivity("activities/kept");
  EXPECT_EQ(open.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(open.error_message(), ::testing::HasSubstr("records are kept"));
  v1::CloseActivityRequest close;
  close.set_name("activities/kept");
  v1::Activity closed;
  ASSERT_TRUE(stub().CloseActivity(Ctx().get(), close, &closed).ok());
  EXPECT_EQ(DeleteActivity("activities/kept").error_code(), StatusCode::FAILED_PRECONDITION);
  v1::PublishOutcomeRequest publish;
  publish.set_name("activities/kept");
  publish.set_outcome_summary("We listened.");
  ASSERT_TRUE(stub().PublishOutcome(Ctx().get(), publish, &closed).ok());
  EXPECT_EQ(DeleteActivity("activities/kept").error_code(), StatusCode::FAILED_PRECONDITION);

  EXPECT_EQ(GetActivityCode("activities/kept"), StatusCode::OK);
  EXPECT_EQ(GetThemeCode("activities/kept/themes/used"), StatusCode::OK);
  EXPECT_TRUE(MessageDifferencer::Equals(Aggregates("kept"), before));
}

TEST_F(DeleteTest, OpenedActivityWithoutResponsesIsStillKept) {
  MakeActivity(stub(), "opened");
  ASSERT_TRUE(Open(stub(), "opened").ok());
  EXPECT_EQ(DeleteActivity("activities/opened").error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(GetActivityCode("activities/opened"), StatusCode::OK);
}

TEST_F(DeleteTest, UnusedThemeIsDeletedAndAUsedOneIsRefused) {
  OpenWithResponses("themes");
  const v1::ActivityAggregates before = Aggregates("themes");

  grpc::Status used = DeleteTheme("activities/themes/themes/used");
  EXPECT_EQ(used.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(used.error_message(), ::testing::HasSubstr("tagged"));
  EXPECT_EQ(GetThemeCode("activities/themes/themes/used"), StatusCode::OK);
  EXPECT_TRUE(MessageDifferencer::Equals(Aggregates("themes"), before));

  ASSERT_TRUE(DeleteTheme("activities/themes/themes/spare").ok());
  EXPECT_EQ(GetThemeCode("activities/themes/themes/spare"), StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteTheme("activities/themes/themes/spare").error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteTheme("activities/themes/spare").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(MessageDifferencer::Equals(Aggregates("themes"), before));
  // A deleted theme cannot be tagged any more.
  v1::Response out;
  EXPECT_EQ(Respond(stub(), "themes",
                    ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "",
                               {"activities/themes/themes/spare"}),
                    &out)
                .error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(DeleteTest, ThemeReTaggedAwayByModerationCanGoAndIsForgotten) {
  MakeActivity(stub(), "moderated");
  MakeTheme(stub(), "moderated", "wrong");
  MakeTheme(stub(), "moderated", "right");
  ASSERT_TRUE(Open(stub(), "moderated").ok());
  const std::string wrong = "activities/moderated/themes/wrong";
  const std::string right = "activities/moderated/themes/right";
  v1::Response response;
  ASSERT_TRUE(Respond(stub(), "moderated",
                      ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_MIXED, "", {wrong}), &response)
                  .ok());
  EXPECT_EQ(DeleteTheme(wrong).error_code(), StatusCode::FAILED_PRECONDITION);

  v1::UpdateResponseRequest update;
  update.mutable_response()->set_name(response.name());
  update.mutable_response()->add_themes(right);
  update.mutable_update_mask()->add_paths("themes");
  v1::Response moderated;
  ASSERT_TRUE(stub().UpdateResponse(Ctx().get(), update, &moderated).ok());
  const v1::ActivityAggregates before = Aggregates("moderated");

  ASSERT_TRUE(DeleteTheme(wrong).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(Aggregates("moderated"), before));
  // The theme was seen by the response path before; it must not be accepted from memory.
  v1::Response out;
  EXPECT_EQ(Respond(stub(), "moderated",
                    ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_MIXED, "", {wrong}), &out)
                .error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Aggregates("moderated").total_responses(), 1);
}

TEST_F(DeleteTest, ThemeAnsweredByADecisionOrPublishedIsRefused) {
  v1::Activity a = MakeActivity(stub(), "answered");
  v1::Theme answered = MakeTheme(stub(), "answered", "answered");
  v1::Theme other = MakeTheme(stub(), "answered", "other");
  // A theme id that is a prefix of another must not match it.
  v1::Theme prefix = MakeTheme(stub(), "answered", "answer");
  MakeDecision("answered", "plan", {answered.name()}, /*published=*/false);

  grpc::Status refused = DeleteTheme(answered.name());
  EXPECT_EQ(refused.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("decision"));
  EXPECT_EQ(GetThemeCode(answered.name()), StatusCode::OK);
  EXPECT_TRUE(DeleteTheme(prefix.name()).ok());

  // Stale etag.
  v1::UpdateThemeRequest update;
  update.mutable_theme()->set_name(other.name());
  update.mutable_theme()->set_display_name("Other, renamed");
  update.mutable_update_mask()->add_paths("display_name");
  v1::Theme renamed;
  ASSERT_TRUE(stub().UpdateTheme(Ctx().get(), update, &renamed).ok());
  EXPECT_EQ(DeleteTheme(other.name(), other.etag()).error_code(), StatusCode::ABORTED);
  EXPECT_EQ(GetThemeCode(other.name()), StatusCode::OK);

  // After publication the themes are part of "you said, we did".
  ASSERT_TRUE(Open(stub(), "answered").ok());
  v1::CloseActivityRequest close;
  close.set_name(a.name());
  v1::Activity out;
  ASSERT_TRUE(stub().CloseActivity(Ctx().get(), close, &out).ok());
  v1::PublishOutcomeRequest publish;
  publish.set_name(a.name());
  publish.set_outcome_summary("Done.");
  ASSERT_TRUE(stub().PublishOutcome(Ctx().get(), publish, &out).ok());
  EXPECT_EQ(DeleteTheme(other.name(), renamed.etag()).error_code(),
            StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(GetThemeCode(other.name()), StatusCode::OK);
}

TEST_F(DeleteTest, UnpublishedDecisionIsDeletedAndPublishedIsKept) {
  OpenWithResponses("decisions");
  const v1::ActivityAggregates before = Aggregates("decisions");
  v1::Decision draft = MakeDecision("decisions", "draft", {}, /*published=*/false);
  v1::Decision published = MakeDecision("decisions", "public", {}, /*published=*/true);

  grpc::Status refused = DeleteDecision(published.name());
  EXPECT_EQ(refused.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("published"));
  EXPECT_EQ(GetDecisionCode(published.name()), StatusCode::OK);

  v1::UpdateDecisionRequest update;
  update.mutable_decision()->set_name(draft.name());
  update.mutable_decision()->set_rationale("Because.");
  update.mutable_update_mask()->add_paths("rationale");
  v1::Decision updated;
  ASSERT_TRUE(stub().UpdateDecision(Ctx().get(), update, &updated).ok());
  EXPECT_EQ(DeleteDecision(draft.name(), draft.etag()).error_code(), StatusCode::ABORTED);
  EXPECT_EQ(GetDecisionCode(draft.name()), StatusCode::OK);

  ASSERT_TRUE(DeleteDecision(draft.name(), updated.etag()).ok());
  EXPECT_EQ(GetDecisionCode(draft.name()), StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteDecision(draft.name()).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteDecision("activities/decisions/draft").error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(MessageDifferencer::Equals(Aggregates("decisions"), before));
}

TEST_F(DeleteTest, ThemeFreedByDeletingItsDecisionCanThenGo) {
  MakeActivity(stub(), "chain");
  v1::Theme t = MakeTheme(stub(), "chain", "access");
  v1::Decision d = MakeDecision("chain", "plan", {t.name()}, /*published=*/false);
  EXPECT_EQ(DeleteTheme(t.name()).error_code(), StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(DeleteDecision(d.name()).ok());
  EXPECT_TRUE(DeleteTheme(t.name(), t.etag()).ok());
}

}  // namespace
}  // namespace dorset::engagement::testing
