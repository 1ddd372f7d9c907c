// A request_id reused for a different request is ALREADY_EXISTS (reason REQUEST_ID_REUSED) on
// every registry write, the rule finance and engagement follow (runtime/api/request_id.h); the
// same request retried is answered with the first result and writes nothing.
#include "runtime/api/request_id.h"

#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "runtime/status/grpc_status.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

std::string Reason(const grpc::Status& status) {
  const google::rpc::Status details = runtime::DecodeDetails(status);
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

class RequestIdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RegistryEnv::Start();
    ASSERT_NE(env_, nullptr);
    env_->LoadDorset();
  }

  grpc::Status Create(const v1::Practice& practice, const std::string& request_id,
                      v1::Practice* out) {
    grpc::ClientContext context;
    v1::CreatePracticeRequest request;
    *request.mutable_practice() = practice;
    request.set_request_id(request_id);
    return env_->stub().CreatePractice(&context, request, out);
  }

  grpc::Status Update(const std::string& name, const std::string& display_name,
                      const std::string& request_id, v1::Practice* out) {
    grpc::ClientContext context;
    v1::UpdatePracticeRequest request;
    request.mutable_practice()->set_name(name);
    request.mutable_practice()->set_display_name(display_name);
    request.mutable_update_mask()->add_paths("display_name");
    request.set_request_id(request_id);
    return env_->stub().UpdatePractice(&context, request, out);
  }

  int64_t LatestSequence() {
    grpc::ClientContext context;
    v1::ListChangesRequest request;
    request.set_page_size(1);
    v1::ListChangesResponse response;
    EXPECT_TRUE(env_->stub().ListChanges(&context, request, &response).ok());
    return response.latest_sequence();
  }

  std::unique_ptr<RegistryEnv> env_;
};

TEST_F(RequestIdTest, CreateWithTheSameIdForAnotherPracticeIsRefused) {
  v1::Practice first;
  ASSERT_TRUE(Create(NewPractice("X00000"), "req-create", &first).ok());
  v1::Practice again;
  ASSERT_TRUE(Create(NewPractice("X00000"), "req-create", &again).ok());  // a retry
  EXPECT_EQ(again.name(), "practices/X00000");
  EXPECT_EQ(again.etag(), first.etag());
  const int64_t sequence = LatestSequence();

  v1::Practice other;
  const grpc::Status reused = Create(NewPractice("X77777"), "req-create", &other);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::ALREADY_EXISTS) << reused.error_message();
  EXPECT_EQ(Reason(reused), runtime::kRequestIdReused);
  EXPECT_EQ(env_->Get("X77777").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LatestSequence(), sequence);  // nothing written

  // A different field is a different request, too.
  const grpc::Status renamed = Create(NewPractice("X00000", "ANOTHER NAME"), "req-create", &other);
  EXPECT_EQ(renamed.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  // And so is the same id on another method.
  const grpc::Status elsewhere = Update("practices/X00000", "RENAMED", "req-create", &other);
  EXPECT_EQ(elsewhere.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Reason(elsewhere), runtime::kRequestIdReused);
}

TEST_F(RequestIdTest, UpdateWithTheSameIdForOtherContentIsRefused) {
  v1::Practice first, again, other;
  ASSERT_TRUE(Update("practices/J81016", "FIRST NAME", "req-update", &first).ok());
  ASSERT_TRUE(Update("practices/J81016", "FIRST NAME", "req-update", &again).ok());
  EXPECT_EQ(again.etag(), first.etag());
  const int64_t sequence = LatestSequence();

  const grpc::Status reused = Update("practices/J81016", "SECOND NAME", "req-update", &other);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::ALREADY_EXISTS) << reused.error_message();
  EXPECT_EQ(Reason(reused), runtime::kRequestIdReused);
  const grpc::Status elsewhere = Update("practices/J81017", "FIRST NAME", "req-update", &other);
  EXPECT_EQ(elsewhere.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  auto stored = env_->Get("J81016");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->display_name(), "FIRST NAME");
  EXPECT_EQ(LatestSequence(), sequence);
}

TEST_F(RequestIdTest, ImportWithTheSameIdForAnotherFileIsRefused) {
  const std::string mapping = "ods_code,locality_id\nJ81016,poole-central\n";
  ASSERT_TRUE(env_->Import(v1::IMPORT_KIND_PRACTICE_LOCALITIES, mapping, "", "req-import").ok());
  ASSERT_TRUE(env_->Import(v1::IMPORT_KIND_PRACTICE_LOCALITIES, mapping, "", "req-import").ok());
  auto other = env_->Import(v1::IMPORT_KIND_PRACTICE_LOCALITIES,
                            "ods_code,locality_id\nJ81017,poole-central\n", "", "req-import");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists) << other.status();
}

TEST_F(RequestIdTest, MalformedRequestIdIsInvalidArgument) {
  v1::Practice out;
  EXPECT_EQ(Create(NewPractice("X00001"), "has space", &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Create(NewPractice("X00001"), std::string(129, 'r'), &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace dorset::registry::testing
