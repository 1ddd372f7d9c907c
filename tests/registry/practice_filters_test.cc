// ListPractices' name_prefix and update_time_since/update_time_before filters (the ones FHIR's
// Organization name and _lastUpdated searches use), checked against the whole list read back.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "runtime/status/grpc_status.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

using google::protobuf::util::TimeUtil;

class PracticeFiltersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RegistryEnv::Start();
    ASSERT_NE(env_, nullptr);
    env_->LoadDorset();
  }

  // Every practice matching `request` (one page of up to 1000), or the call's error.
  grpc::Status List(v1::ListPracticesRequest request, v1::ListPracticesResponse* response) {
    grpc::ClientContext context;
    request.set_page_size(1000);
    response->Clear();
    return env_->stub().ListPractices(&context, request, response);
  }

  std::vector<std::string> Codes(const v1::ListPracticesRequest& request) {
    v1::ListPracticesResponse response;
    grpc::Status status = List(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.total_size(), response.practices_size());
    std::vector<std::string> codes;
    for (const auto& p : response.practices()) codes.push_back(p.ods_code());
    std::sort(codes.begin(), codes.end());
    return codes;
  }

  std::vector<v1::Practice> All() {
    v1::ListPracticesResponse response;
    EXPECT_TRUE(List({}, &response).ok());
    return {response.practices().begin(), response.practices().end()};
  }

  static std::vector<std::string> BadFields(const grpc::Status& status) {
    std::vector<std::string> fields;
    const google::rpc::Status details = runtime::DecodeDetails(status);
    for (const auto& any : details.details()) {
      google::rpc::BadRequest bad;
      if (any.UnpackTo(&bad)) {
        for (const auto& v : bad.field_violations()) fields.push_back(v.field());
      }
    }
    return fields;
  }

  std::unique_ptr<RegistryEnv> env_;
};

TEST_F(PracticeFiltersTest, NamePrefixMatchesTheStartIgnoringCase) {
  const std::vector<v1::Practice> all = All();
  ASSERT_EQ(all.size(), 139u);
  auto expected = [&](const std::string& prefix) {
    std::vector<std::string> codes;
    for (const auto& p : all) {
      if (absl::StartsWithIgnoreCase(p.display_name(), prefix)) codes.push_back(p.ods_code());
    }
    std::sort(codes.begin(), codes.end());
    return codes;
  };
  v1::ListPracticesRequest request;
  for (const std::string prefix : {"the ", "Orchid", "ORCHID HOUSE SURGERY", "c", "Surgery"}) {
    request.set_name_prefix(prefix);
    EXPECT_EQ(Codes(request), expected(prefix)) << prefix;
  }
  // "Orchid" starts one name; many more contain "surgery" than start with it.
  request.set_name_prefix("orchid");
  EXPECT_EQ(Codes(request), std::vector<std::string>{"J81002"});
  request.set_name_prefix("");
  request.set_name_contains("surgery");
  const size_t containing = Codes(request).size();
  request.set_name_prefix("surgery");
  EXPECT_LT(Codes(request).size(), containing);
  EXPECT_GT(containing, 10u);

  // LIKE's wildcards match only themselves.
  request.Clear();
  for (const char* wildcard : {"%", "_", "\\", "o%", "_RCHID"}) {
    request.set_name_prefix(wildcard);
    EXPECT_TRUE(Codes(request).empty()) << wildcard;
  }

  // Too long: INVALID_ARGUMENT naming the field.
  request.set_name_prefix(std::string(101, 'x'));
  v1::ListPracticesResponse response;
  grpc::Status status = List(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(status), ::testing::Contains("name_prefix"));
}

TEST_F(PracticeFiltersTest, UpdateTimeSinceAndBeforeAreAHalfOpenRange) {
  // Change one practice after the import: its update_time is the newest.
  auto current = env_->Get("J81002");
  ASSERT_TRUE(current.ok());
  v1::Practice patch;
  patch.set_name("practices/J81002");
  patch.set_etag(current->etag());
  patch.set_telephone("01202 111111");
  v1::UpdatePracticeRequest update;
  *update.mutable_practice() = patch;
  update.mutable_update_mask()->add_paths("telephone");
  v1::Practice changed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(env_->stub().UpdatePractice(&context, update, &changed).ok());
  }
  const int64_t changed_at = TimeUtil::TimestampToMicroseconds(changed.update_time());

  std::vector<std::string> before_change, since_change, all_codes;
  for (const auto& p : All()) {
    all_codes.push_back(p.ods_code());
    (TimeUtil::TimestampToMicroseconds(p.update_time()) < changed_at ? before_change : since_change)
        .push_back(p.ods_code());
  }
  std::sort(all_codes.begin(), all_codes.end());
  std::sort(before_change.begin(), before_change.end());
  ASSERT_EQ(since_change, std::vector<std::string>{"J81002"});
  ASSERT_EQ(before_change.size(), 138u);

  auto at = [](int64_t micros) { return TimeUtil::MicrosecondsToTimestamp(micros); };
  v1::ListPracticesRequest request;
  *request.mutable_update_time_since() = at(changed_at);  // at or after
  EXPECT_EQ(Codes(request), since_change);
  *request.mutable_update_time_since() = at(changed_at + 1);
  EXPECT_TRUE(Codes(request).empty());

  request.Clear();
  *request.mutable_update_time_before() = at(changed_at);  // strictly before
  EXPECT_EQ(Codes(request), before_change);
  *request.mutable_update_time_before() = at(changed_at + 1);
  EXPECT_EQ(Codes(request), all_codes);

  // A bound between two microseconds: rounded up, so "at or after" excludes and "before"
  // includes the microsecond below it.
  google::protobuf::Timestamp half = at(changed_at - 1);
  half.set_nanos(half.nanos() + 500);
  request.Clear();
  *request.mutable_update_time_since() = half;
  EXPECT_EQ(Codes(request), since_change);
  request.Clear();
  *request.mutable_update_time_before() = half;
  EXPECT_EQ(Codes(request), before_change);

  // A range with both ends, combined with another filter; an empty range matches nothing.
  request.Clear();
  *request.mutable_update_time_since() = at(0);
  *request.mutable_update_time_before() = at(changed_at + 1);
  request.set_name_prefix("orchid");
  EXPECT_EQ(Codes(request), std::vector<std::string>{"J81002"});
  request.clear_name_prefix();
  *request.mutable_update_time_since() = at(changed_at + 1);
  EXPECT_TRUE(Codes(request).empty());

  // Paging keeps the filter, and a token is bound to it.
  request.Clear();
  *request.mutable_update_time_before() = at(changed_at);
  request.set_page_size(100);
  v1::ListPracticesResponse page;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(env_->stub().ListPractices(&context, request, &page).ok());
  }
  EXPECT_EQ(page.total_size(), 138);
  ASSERT_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  {
    grpc::ClientContext context;
    ASSERT_TRUE(env_->stub().ListPractices(&context, request, &page).ok());
    EXPECT_EQ(page.practices_size(), 38);
  }
  *request.mutable_update_time_before() = at(changed_at + 1);
  {
    grpc::ClientContext context;
    EXPECT_EQ(env_->stub().ListPractices(&context, request, &page).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  // Out-of-range timestamps: INVALID_ARGUMENT naming the field.
  for (const char* field : {"update_time_since", "update_time_before"}) {
    v1::ListPracticesRequest bad;
    google::protobuf::Timestamp* t = std::string(field) == "update_time_since"
                                         ? bad.mutable_update_time_since()
                                         : bad.mutable_update_time_before();
    t->set_nanos(-1);
    v1::ListPracticesResponse response;
    grpc::ClientContext context;
    grpc::Status status = env_->stub().ListPractices(&context, bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(BadFields(status), ::testing::Contains(field));
    t->set_nanos(0);
    t->set_seconds(TimeUtil::kTimestampMaxSeconds + 1);
    grpc::ClientContext context2;
    status = env_->stub().ListPractices(&context2, bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
  }
}

}  // namespace
}  // namespace dorset::registry::testing
