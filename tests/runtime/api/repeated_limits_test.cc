#include "runtime/api/repeated_limits.h"

#include "google/protobuf/struct.pb.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"

namespace dorset::runtime {
namespace {

std::string Field(const absl::Status& status) {
  auto payload = status.GetPayload("type.googleapis.com/google.rpc.BadRequest");
  if (!payload) return "";
  google::rpc::BadRequest bad;
  bad.ParseFromString(std::string(*payload));
  return bad.field_violations_size() > 0 ? bad.field_violations(0).field() : "";
}

TEST(RepeatedLimitsTest, DefaultCapAppliesToEveryRepeatedField) {
  google::rpc::BadRequest request;
  for (int i = 0; i < kDefaultMaxRepeated; ++i) request.add_field_violations();
  EXPECT_TRUE(CheckRepeatedLimits(request).ok());
  request.add_field_violations();
  const absl::Status refused = CheckRepeatedLimits(request);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Field(refused), "field_violations");
}

TEST(RepeatedLimitsTest, NamedLimitsAndNestedPaths) {
  google::protobuf::Value value;
  for (int i = 0; i < 4; ++i) value.mutable_list_value()->add_values();
  constexpr RepeatedLimit kLimits[] = {{"list_value.values", 3}};
  const absl::Status refused = CheckRepeatedLimits(value, kLimits);
  EXPECT_EQ(Field(refused), "list_value.values");
  EXPECT_NE(refused.message().find("at most 3"), absl::string_view::npos);
  value.mutable_list_value()->mutable_values()->RemoveLast();
  EXPECT_TRUE(CheckRepeatedLimits(value, kLimits).ok());
  // Elements of a repeated message are checked under the field's path.
  google::protobuf::Value outer;
  *outer.mutable_list_value()->add_values() = value;
  outer.mutable_list_value()->mutable_values(0)->mutable_list_value()->add_values();
  constexpr RepeatedLimit kNested[] = {{"list_value.values.list_value.values", 3}};
  EXPECT_EQ(Field(CheckRepeatedLimits(outer, kNested)), "list_value.values.list_value.values");
}

}  // namespace
}  // namespace dorset::runtime
