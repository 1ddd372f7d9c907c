#include "runtime/api/request_id.h"

#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "runtime/auth/token_store.h"

namespace dorset::runtime {
namespace {

google::protobuf::FieldMask Mask(std::initializer_list<const char*> paths) {
  google::protobuf::FieldMask mask;
  for (const char* p : paths) mask.add_paths(p);
  return mask;
}

TEST(RequestIdTest, HashIsTheSha256OfTheDeterministicBytes) {
  // Engagement stored these hashes before the helper existed: they must not change.
  EXPECT_EQ(RequestHash(google::protobuf::FieldMask()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");  // SHA-256("")
  EXPECT_EQ(RequestHash(Mask({"a"})), RequestHash(Mask({"a"})));
  EXPECT_NE(RequestHash(Mask({"a"})), RequestHash(Mask({"b"})));
}

TEST(RequestIdTest, HashedBytesAreTheDeterministicSerialization) {
  // The bytes hashed are sized once and written in place (session 21); they must stay what a
  // CodedOutputStream over a StringOutputStream gave, map entries in key order included.
  google::protobuf::Struct request;
  for (const char* key : {"zeta", "alpha", "mid", "beta", "omega"}) {
    (*request.mutable_fields())[key].set_string_value(std::string(40, key[0]));
  }
  (*request.mutable_fields())["n"].set_number_value(2.5);
  std::string expected;
  {
    google::protobuf::io::StringOutputStream stream(&expected);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  EXPECT_EQ(RequestHash(request), Sha256Hex(expected));
  // With a body: the same bytes behind their length.
  EXPECT_EQ(RequestHash(request, "body"),
            Sha256Hex(std::to_string(expected.size()) + ":" + expected + "body"));
}

TEST(RequestIdTest, BodyIsPartOfTheHash) {
  EXPECT_EQ(RequestHash(Mask({"a"}), "file"), RequestHash(Mask({"a"}), "file"));
  EXPECT_NE(RequestHash(Mask({"a"}), "file"), RequestHash(Mask({"a"}), "file2"));
  EXPECT_NE(RequestHash(Mask({"a"}), "file"), RequestHash(Mask({"a"})));
  // In pieces, as an upload arrives: the same hash.
  RequestHasher hasher(Mask({"a"}));
  hasher.AddBody("fi");
  hasher.AddBody("le");
  EXPECT_EQ(hasher.Finish(), RequestHash(Mask({"a"}), "file"));
  // Length-prefixed: moving bytes between message and body changes the hash.
  EXPECT_NE(RequestHash(Mask({"ab"}), ""), RequestHash(Mask({"a"}), "b"));
}

TEST(RequestIdTest, ReplayOfTheSameHashIsARetryAnotherIsAlreadyExists) {
  EXPECT_TRUE(CheckReplay("abc", "abc").ok());
  EXPECT_TRUE(CheckReplay("", "abc").ok());  // stored before hashes were kept
  const absl::Status reused = CheckReplay("abc", "abd");
  EXPECT_EQ(reused.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(reused.GetPayload("type.googleapis.com/google.rpc.ErrorInfo").has_value());
  EXPECT_TRUE(reused.GetPayload("type.googleapis.com/google.rpc.ResourceInfo").has_value());
}

TEST(RequestIdTest, ChecksTheIdsForm) {
  EXPECT_TRUE(CheckRequestId("").ok());
  EXPECT_TRUE(CheckRequestId(std::string(128, 'r')).ok());
  EXPECT_EQ(CheckRequestId(std::string(129, 'r')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckRequestId("a b").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckRequestId("caf\xc3\xa9").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dorset::runtime
