// Populations on the real 11J data: a closed practice's list follows its successor chain to an
// ACTIVE practice (issue 11, item 2), and every population carries the dates of the list sizes
// it sums, with the summary counting the gaps between list sizes and statuses (item 3).
#include "gtest/gtest.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

class PopulationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RegistryEnv::Start();
    ASSERT_NE(env_, nullptr);
    env_->LoadDorset();
  }

  void Close(const std::string& code, const std::string& successor) {
    grpc::ClientContext context;
    v1::ClosePracticeRequest request;
    request.set_name("practices/" + code);
    if (!successor.empty()) request.set_successor("practices/" + successor);
    request.set_close_date("2025-06-30");
    v1::Practice out;
    grpc::Status status = env_->stub().ClosePractice(&context, request, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::Locality Locality(const std::string& id) {
    grpc::ClientContext context;
    v1::GetLocalityRequest request;
    request.set_name("localities/" + id);
    v1::Locality locality;
    EXPECT_TRUE(env_->stub().GetLocality(&context, request, &locality).ok());
    return locality;
  }

  v1::AreaSummary Summary() {
    grpc::ClientContext context;
    v1::AreaSummary summary;
    EXPECT_TRUE(env_->stub().GetAreaSummary(&context, v1::GetAreaSummaryRequest(), &summary).ok());
    return summary;
  }

  std::unique_ptr<RegistryEnv> env_;
};

TEST_F(PopulationTest, AClosedListMovesToItsSuccessor) {
  const v1::Locality before = Locality("poole-bay");
  EXPECT_EQ(before.active_registered_patients(), 24607);
  EXPECT_EQ(Summary().active_registered_patients(), 715198);

  Close("J81012", "J81086");  // list 17,672; successor in the same locality
  const v1::Locality after = Locality("poole-bay");
  EXPECT_EQ(after.active_registered_patients(), 24607);
  EXPECT_EQ(after.registered_patients(), before.registered_patients());
  EXPECT_EQ(after.patients_from_closed_practices(), 17672);
  EXPECT_EQ(after.practice_count(), before.practice_count() - 1);
  EXPECT_EQ(env_->Get("J81086")->list_size(), 6935);  // the published list is not rewritten

  const v1::AreaSummary summary = Summary();
  EXPECT_EQ(summary.active_registered_patients(), 715198);
  EXPECT_EQ(summary.registered_patients(), 810033);
  ASSERT_EQ(summary.successor_moves_size(), 1);
  EXPECT_EQ(summary.successor_moves(0).from_practice(), "practices/J81012");
  EXPECT_EQ(summary.successor_moves(0).to_practice(), "practices/J81086");
  EXPECT_EQ(summary.successor_moves(0).list_size(), 17672);
  EXPECT_EQ(summary.successor_moves(0).list_size_date(), "2021-01-01");
  EXPECT_EQ(summary.successor_moves(0).from_date(), "2025-06-30");
  int64_t cluster_active = 0;
  for (const auto& c : summary.clusters()) cluster_active += c.active_registered_patients();
  EXPECT_EQ(cluster_active, summary.active_registered_patients());
}

TEST_F(PopulationTest, TheChainIsFollowedToAnActivePracticeInAnotherLocality) {
  const int64_t purbeck = Locality("purbeck").active_registered_patients();
  const int64_t poole_all = Locality("poole-bay").registered_patients();
  Close("J81012", "J81086");
  Close("J81086", "J81010");  // J81010 is in purbeck
  EXPECT_EQ(Locality("poole-bay").active_registered_patients(), 0);
  EXPECT_EQ(Locality("poole-bay").registered_patients(), poole_all - 24607);
  const v1::Locality after = Locality("purbeck");
  EXPECT_EQ(after.active_registered_patients(), purbeck + 24607);
  EXPECT_EQ(after.patients_from_closed_practices(), 24607);
  const v1::AreaSummary summary = Summary();
  EXPECT_EQ(summary.active_registered_patients(), 715198);
  ASSERT_EQ(summary.successor_moves_size(), 2);
  for (const auto& m : summary.successor_moves()) {
    EXPECT_EQ(m.to_practice(), "practices/J81010") << m.from_practice();
  }
}

TEST_F(PopulationTest, AClosureWithoutSuccessorDropsTheList) {
  Close("J81012", "");
  EXPECT_EQ(Locality("poole-bay").active_registered_patients(), 24607 - 17672);
  EXPECT_EQ(Locality("poole-bay").patients_from_closed_practices(), 0);
  EXPECT_EQ(Summary().active_registered_patients(), 715198 - 17672);
  EXPECT_EQ(Summary().successor_moves_size(), 0);
}

TEST_F(PopulationTest, FiguresCarryTheirListSizeDatesAndTheSummaryCountsTheGaps) {
  v1::AreaSummary summary = Summary();
  EXPECT_EQ(summary.list_sizes().practices(), 79);
  EXPECT_EQ(summary.list_sizes().earliest_date(), "2021-01-01");
  EXPECT_EQ(summary.list_sizes().latest_date(), "2021-01-01");
  EXPECT_EQ(summary.active_without_list_size_count(), 14);
  EXPECT_EQ(summary.active_gp_without_list_size_count(), 0);
  EXPECT_EQ(summary.inactive_with_list_size_count(), 11);
  for (const auto& l : summary.localities()) {
    if (l.registered_patients() == 0) continue;
    EXPECT_EQ(l.list_sizes().earliest_date(), "2021-01-01") << l.name();
    EXPECT_GT(l.list_sizes().practices(), 0) << l.name();
  }
  for (const auto& c : summary.clusters()) {
    EXPECT_EQ(c.list_sizes().latest_date(), "2021-01-01") << c.name();
  }

  // A newer list size for one practice: the figures now say they mix two extracts.
  grpc::ClientContext context;
  v1::UpdatePracticeRequest request;
  request.mutable_practice()->set_name("practices/J81086");
  request.mutable_practice()->set_list_size(7000);
  request.mutable_practice()->set_list_size_date("2025-04-01");
  request.mutable_update_mask()->add_paths("list_size");
  request.mutable_update_mask()->add_paths("list_size_date");
  v1::Practice out;
  ASSERT_TRUE(env_->stub().UpdatePractice(&context, request, &out).ok());
  const v1::Locality poole = Locality("poole-bay");
  EXPECT_EQ(poole.list_sizes().earliest_date(), "2021-01-01");
  EXPECT_EQ(poole.list_sizes().latest_date(), "2025-04-01");
  summary = Summary();
  EXPECT_EQ(summary.list_sizes().earliest_date(), "2021-01-01");
  EXPECT_EQ(summary.list_sizes().latest_date(), "2025-04-01");

  // Closing an active GP practice with a list leaves one more inactive list.
  Close("J81012", "");
  EXPECT_EQ(Summary().inactive_with_list_size_count(), 12);
}

}  // namespace
}  // namespace dorset::registry::testing
