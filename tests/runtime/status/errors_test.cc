#include "runtime/status/errors.h"

#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "runtime/status/grpc_status.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {
namespace {

template <typename Detail>
bool FindDetail(const grpc::Status& status, Detail& out) {
  const google::rpc::Status details = DecodeDetails(status);
  for (const auto& any : details.details()) {
    if (any.UnpackTo(&out)) return true;
  }
  return false;
}

TEST(ErrorsTest, InvalidArgumentCarriesFieldViolationAndErrorInfo) {
  const grpc::Status status =
      ToGrpcStatus(InvalidArgument("practice.postcode", "not a UK postcode"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "practice.postcode: not a UK postcode");
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(FindDetail(status, bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "practice.postcode");
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(FindDetail(status, info));
  EXPECT_EQ(info.reason(), "INVALID_ARGUMENT");
  EXPECT_EQ(info.domain(), "dorset.nhs.uk");
}

TEST(ErrorsTest, NotFoundAndEtagMismatchNameTheResource) {
  google::rpc::ResourceInfo resource;
  const grpc::Status not_found = ToGrpcStatus(NotFound("Practice", "practices/J81016"));
  EXPECT_EQ(not_found.error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(FindDetail(not_found, resource));
  EXPECT_EQ(resource.resource_name(), "practices/J81016");

  const grpc::Status aborted = ToGrpcStatus(EtagMismatch("Practice", "practices/J81016"));
  EXPECT_EQ(aborted.error_code(), grpc::StatusCode::ABORTED);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(FindDetail(aborted, info));
  EXPECT_EQ(info.reason(), "ETAG_MISMATCH");
}

TEST(ErrorsTest, ResourceExhaustedCarriesRetryDelay) {
  const grpc::Status status =
      ToGrpcStatus(ResourceExhausted("slow down", absl::Milliseconds(1500)));
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(FindDetail(status, retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 1);
  EXPECT_EQ(retry.retry_delay().nanos(), 500000000);
}

TEST(ErrorsTest, PlainAbslErrorsGetAnErrorInfoAtTheEdge) {
  const grpc::Status status = ToGrpcStatus(absl::UnavailableError("store busy"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(FindDetail(status, info));
  EXPECT_EQ(info.reason(), "UNAVAILABLE");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(ErrorsTest, FromGrpcStatusKeepsDetails) {
  const absl::Status original = FailedPrecondition("STATE", "activities/1", "activity is closed");
  const absl::Status back = FromGrpcStatus(ToGrpcStatus(original));
  EXPECT_EQ(back.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(back.message(), "activity is closed");
  EXPECT_TRUE(back.GetPayload("type.googleapis.com/google.rpc.PreconditionFailure").has_value());
}

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return InvalidArgument("n", "must be even");
  return n / 2;
}

absl::Status Quarter(int n, int& out) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(out, Half(half));
  RETURN_IF_ERROR(out > 100 ? absl::OutOfRangeError("too big") : absl::OkStatus());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnEarlyOnErrorAndAssignOnSuccess) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, out).ok());
  EXPECT_EQ(out, 2);
  EXPECT_EQ(Quarter(6, out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Quarter(800, out).code(), absl::StatusCode::kOutOfRange);
}

TEST(ErrorsTest, AnnotateKeepsCodeAndPayloads) {
  const absl::Status s = Annotate(NotFound("Practice", "practices/A1"), "importing line 3");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "importing line 3: Practice practices/A1 not found");
  EXPECT_TRUE(s.GetPayload("type.googleapis.com/google.rpc.ResourceInfo").has_value());
}

// Issue 10, item 18: a name the caller sent, echoed whole, must not overflow the trailers.
// (The bounds of grpc_status.cc.)
constexpr size_t kMaxStatusMessageBytes = 512;
constexpr size_t kMaxDetailStringBytes = 256;
constexpr int kMaxRepeatedDetailEntries = 8;
constexpr size_t kMaxStatusDetailsBytes = 3072;

TEST(ErrorsTest, LongNamesAreCutInMessagesAndDetails) {
  const std::string name = "plans/" + std::string(100 * 1024, 'x');
  const grpc::Status status = ToGrpcStatus(NotFound("Plan", name));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_LE(status.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_NE(status.error_message().find("(truncated)"), std::string::npos);
  EXPECT_LE(status.error_details().size(), kMaxStatusMessageBytes + kMaxStatusDetailsBytes + 64);
  google::rpc::ResourceInfo info;
  ASSERT_TRUE(FindDetail(status, info));  // the detail is kept, shortened
  EXPECT_EQ(info.resource_type(), "Plan");
  EXPECT_EQ(info.resource_name().substr(0, 10), name.substr(0, 10));
  EXPECT_LE(info.resource_name().size(), kMaxDetailStringBytes);
  google::rpc::ErrorInfo error_info;
  EXPECT_TRUE(FindDetail(status, error_info));

  // Thousands of violations keep the first few.
  std::vector<FieldViolation> violations;
  for (int i = 0; i < 5000; ++i) violations.push_back({"localities", name.substr(0, 300)});
  const grpc::Status many = ToGrpcStatus(InvalidArguments(std::move(violations)));
  google::rpc::BadRequest bad;
  ASSERT_TRUE(FindDetail(many, bad));
  EXPECT_GT(bad.field_violations_size(), 0);
  EXPECT_LE(bad.field_violations_size(), kMaxRepeatedDetailEntries);
  EXPECT_LE(many.error_details().size(), kMaxStatusMessageBytes + kMaxStatusDetailsBytes + 64);

  // A cut never splits a UTF-8 character; short messages are untouched.
  const std::string accented =
      std::string(kMaxStatusMessageBytes - 15, 'a') + "\xc3\xa9\xc3\xa9" + std::string(100, 'b');
  const std::string cut = ToGrpcStatus(absl::NotFoundError(accented)).error_message();
  EXPECT_LE(cut.size(), kMaxStatusMessageBytes);
  EXPECT_NE(cut.substr(0, cut.find("...")).back() & 0xC0, 0xC0);  // not a dangling lead byte
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("short")).error_message(), "short");
}

}  // namespace
}  // namespace dorset::runtime
