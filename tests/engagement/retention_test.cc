// Retention of stakeholders' contact details with an injected clock, through the API: the dry
// run lists exactly those whose last activity (change or response) is past the period, the run
// erases exactly them with the usual erasure (responses anonymised, aggregates unchanged), and
// only callers who may erase can do either.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
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
    server_.Start(config);
    MakeActivity(stub(), "gp", kEditor);
    ASSERT_TRUE(Open(stub(), "gp", kEditor).ok());
  }
  void TearDown() override {
    if (server_.host) server_.host->Shutdown();
  }
  v1::EngagementService::Stub& stub() { return *server_.stub; }

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

}  // namespace
}  // namespace dorset::engagement::testing
