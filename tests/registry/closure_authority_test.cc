// Who owns a practice's closure: a closure made through the API ahead of ODS survives an
// EPRACCUR import that still lists the practice as open (reported as a conflict) unless the
// import overrides it, and no practice is ever open with a successor (issue 11, item 1).
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

class ClosureAuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RegistryEnv::Start();
    ASSERT_NE(env_, nullptr);
    env_->LoadDorset();
    epraccur_ = SourceFile("data/ods/epraccur-2025-05.csv");
  }

  grpc::Status Close(const std::string& code, const std::string& successor, const std::string& date,
                     v1::Practice* out) {
    grpc::ClientContext context;
    v1::ClosePracticeRequest request;
    request.set_name("practices/" + code);
    if (!successor.empty()) request.set_successor("practices/" + successor);
    request.set_close_date(date);
    return env_->stub().ClosePractice(&context, request, out);
  }

  absl::StatusOr<v1::ImportReport> ImportEpraccur(const std::string& content, bool override) {
    // RegistryEnv::Import has no override flag: stream the options here.
    grpc::ClientContext context;
    v1::ImportReport report;
    auto writer = env_->stub().ImportFile(&context, &report);
    v1::ImportFileRequest chunk;
    chunk.mutable_options()->set_kind(v1::IMPORT_KIND_EPRACCUR);
    chunk.mutable_options()->set_override_local_closures(override);
    chunk.set_data(content);
    if (!writer->Write(chunk)) return absl::InternalError("write failed");
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (!status.ok()) return absl::Status(absl::StatusCode::kUnknown, status.error_message());
    return report;
  }

  v1::Change::Kind LatestKind(const std::string& code) {
    grpc::ClientContext context;
    v1::ListPracticeRevisionsRequest request;
    request.set_name("practices/" + code);
    request.set_page_size(1);
    v1::ListPracticeRevisionsResponse response;
    EXPECT_TRUE(env_->stub().ListPracticeRevisions(&context, request, &response).ok());
    return response.revisions_size() == 0 ? v1::Change::KIND_UNSPECIFIED
                                          : response.revisions(0).kind();
  }

  std::unique_ptr<RegistryEnv> env_;
  std::string epraccur_;
};

TEST_F(ClosureAuthorityTest, ImportKeepsALocalClosureAheadOfOdsAndReportsTheConflict) {
  v1::Practice closed;
  ASSERT_TRUE(Close("J81010", "J81086", "2025-06-30", &closed).ok());
  EXPECT_TRUE(closed.closed_ahead_of_ods());

  auto report = ImportEpraccur(epraccur_, /*override=*/false);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->changed(), 0);
  EXPECT_EQ(report->conflicted(), 1);
  ASSERT_EQ(report->conflicts_size(), 1);
  EXPECT_EQ(report->conflicts(0).ods_code(), "J81010");
  EXPECT_EQ(report->conflicts(0).ods_status(), v1::Practice::STATUS_ACTIVE);
  EXPECT_EQ(report->conflicts(0).kept_status(), v1::Practice::STATUS_CLOSED);
  EXPECT_NE(report->conflicts(0).reason().find("kept"), std::string::npos);

  auto j81010 = env_->Get("J81010");
  ASSERT_TRUE(j81010.ok());
  EXPECT_EQ(j81010->status(), v1::Practice::STATUS_CLOSED);
  EXPECT_EQ(j81010->close_date(), "2025-06-30");
  EXPECT_EQ(j81010->successor(), "practices/J81086");
  EXPECT_EQ(LatestKind("J81010"), v1::Change::KIND_PRACTICE_CLOSED);

  // A second import is just as careful (and idempotent).
  report = ImportEpraccur(epraccur_, false);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->changed(), 0);
  EXPECT_EQ(report->conflicted(), 1);
  EXPECT_EQ(env_->Get("J81010")->status(), v1::Practice::STATUS_CLOSED);
}

TEST_F(ClosureAuthorityTest, OverrideReopensAsRecordedReopeningWithoutSuccessor) {
  v1::Practice closed;
  ASSERT_TRUE(Close("J81010", "J81086", "2025-06-30", &closed).ok());
  auto report = ImportEpraccur(epraccur_, /*override=*/true);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->changed(), 1);
  EXPECT_EQ(report->conflicted(), 1);
  ASSERT_EQ(report->conflicts_size(), 1);
  EXPECT_EQ(report->conflicts(0).kept_status(), v1::Practice::STATUS_ACTIVE);
  auto j81010 = env_->Get("J81010");
  ASSERT_TRUE(j81010.ok());
  EXPECT_EQ(j81010->status(), v1::Practice::STATUS_ACTIVE);
  EXPECT_EQ(j81010->successor(), "");
  EXPECT_EQ(j81010->close_date(), "");
  EXPECT_FALSE(j81010->closed_ahead_of_ods());
  EXPECT_EQ(LatestKind("J81010"), v1::Change::KIND_PRACTICE_REOPENED);
}

TEST_F(ClosureAuthorityTest, OdsPublishingTheClosureTakesItsDateAndKeepsTheSuccessor) {
  v1::Practice closed;
  ASSERT_TRUE(Close("J81010", "J81086", "2025-06-30", &closed).ok());
  const std::string open_row =
      "\"19740401\",\"\",\"A\",\"B\",\"11J\",\"20130401\",\"\",\"01929 422231\"";
  ASSERT_NE(epraccur_.find(open_row), std::string::npos);
  const std::string closed_file = absl::StrReplaceAll(
      epraccur_, {{open_row,
                   "\"19740401\",\"20250715\",\"C\",\"B\",\"11J\",\"20130401\",\"\",\"01929 "
                   "422231\""}});
  auto report = ImportEpraccur(closed_file, false);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->conflicted(), 0);
  EXPECT_EQ(report->changed(), 1);
  auto j81010 = env_->Get("J81010");
  ASSERT_TRUE(j81010.ok());
  EXPECT_EQ(j81010->status(), v1::Practice::STATUS_CLOSED);
  EXPECT_EQ(j81010->close_date(), "2025-07-15");  // ODS owns the date it publishes
  EXPECT_EQ(j81010->successor(), "practices/J81086");
  EXPECT_FALSE(j81010->closed_ahead_of_ods());
  // ODS reopening a practice it closed itself is not a conflict; the successor goes with it.
  report = ImportEpraccur(epraccur_, false);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->conflicted(), 0);
  j81010 = env_->Get("J81010");
  EXPECT_EQ(j81010->status(), v1::Practice::STATUS_ACTIVE);
  EXPECT_EQ(j81010->successor(), "");
  EXPECT_EQ(LatestKind("J81010"), v1::Change::KIND_PRACTICE_REOPENED);
}

TEST_F(ClosureAuthorityTest, ReopeningThroughUpdateClearsTheClosure) {
  v1::Practice closed;
  ASSERT_TRUE(Close("J81010", "J81086", "2025-06-30", &closed).ok());
  grpc::ClientContext context;
  v1::UpdatePracticeRequest request;
  request.mutable_practice()->set_name("practices/J81010");
  request.mutable_practice()->set_status(v1::Practice::STATUS_ACTIVE);
  request.mutable_update_mask()->add_paths("status");
  v1::Practice out;
  ASSERT_TRUE(env_->stub().UpdatePractice(&context, request, &out).ok());
  EXPECT_EQ(out.status(), v1::Practice::STATUS_ACTIVE);
  EXPECT_EQ(out.successor(), "");
  EXPECT_EQ(out.close_date(), "");
  EXPECT_FALSE(out.closed_ahead_of_ods());
  EXPECT_EQ(LatestKind("J81010"), v1::Change::KIND_PRACTICE_REOPENED);
}

}  // namespace
}  // namespace dorset::registry::testing
