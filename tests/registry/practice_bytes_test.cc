// ListPractices' pages as reply bytes (issue 16, storage/practice_bytes.h): a practice's kept
// bytes follow the registry's writes; the wire helpers write what protobuf writes; the reply
// through gRPC is the reply the message path gives. (That the bytes of every page are the
// messages' serialisation on the national extract: name_search_test.cc.)
#include "services/registry/storage/practice_bytes.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/registry/storage/store.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

constexpr int kField = v1::ListPracticesResponse::kPracticesFieldNumber;

// A practice's kept bytes are served for its stored row only: after an update (new data and
// revision) the page shows the new state and etag, as GetPractice does.
TEST(PracticeBytes, KeptBytesFollowTheRegistrysWrites) {
  std::unique_ptr<RegistryEnv> env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  auto created = env->Create(NewPractice("Y99911", "KINGFISHER SURGERY"));
  ASSERT_TRUE(created.ok()) << created.status();
  Store& store = *env->module().store();
  PracticeQuery q;
  q.name_contains = "kingfisher";
  auto page_of = [&]() {
    v1::ListPracticesResponse reply;
    absl::StatusOr<PracticeBytesPage> page = store.ListPracticeBytes(q, std::nullopt, 10, kField);
    EXPECT_TRUE(page.ok()) << page.status();
    if (page.ok()) {
      EXPECT_TRUE(reply.ParseFromString(page->practices));
    }
    return reply;
  };
  for (int i = 0; i < 2; ++i) {  // worked out, then kept
    v1::ListPracticesResponse reply = page_of();
    ASSERT_EQ(reply.practices_size(), 1);
    EXPECT_EQ(reply.practices(0).display_name(), "KINGFISHER SURGERY");
    EXPECT_EQ(reply.practices(0).etag(), created->etag());
  }

  grpc::ClientContext context;
  v1::UpdatePracticeRequest update;
  update.mutable_practice()->set_name("practices/Y99911");
  update.mutable_practice()->set_etag(created->etag());
  update.mutable_practice()->set_display_name("KINGFISHER MEDICAL CENTRE");
  update.mutable_update_mask()->add_paths("display_name");
  v1::Practice updated;
  grpc::Status status = env->stub().UpdatePractice(&context, update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_NE(updated.etag(), created->etag());

  v1::ListPracticesResponse reply = page_of();
  ASSERT_EQ(reply.practices_size(), 1);
  EXPECT_EQ(reply.practices(0).display_name(), "KINGFISHER MEDICAL CENTRE");
  EXPECT_EQ(reply.practices(0).etag(), updated.etag());
  absl::StatusOr<v1::Practice> got = env->Get("Y99911");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(reply.practices(0).SerializeAsString(), got->SerializeAsString());
}

// Through gRPC: the reply parses to the page the message path gives, with its token and total.
TEST(PracticeBytes, TheReplyIsTheMessagePathsReply) {
  std::unique_ptr<RegistryEnv> env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  for (const char* code : {"Y99921", "Y99922", "Y99923"}) {
    ASSERT_TRUE(env->Create(NewPractice(code, absl::StrCat("HERON SURGERY ", code))).ok());
  }
  v1::ListPracticesRequest request;
  request.set_name_contains("heron");
  request.set_page_size(2);
  v1::ListPracticesResponse first;
  grpc::ClientContext first_context;
  ASSERT_TRUE(env->stub().ListPractices(&first_context, request, &first).ok());
  PracticeQuery q;
  q.name_contains = "heron";
  absl::StatusOr<PracticePage> messages = env->module().store()->ListPractices(q, std::nullopt, 2);
  ASSERT_TRUE(messages.ok()) << messages.status();
  ASSERT_EQ(first.practices_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(first.practices(i).SerializeAsString(), messages->practices[i].SerializeAsString());
  }
  EXPECT_EQ(first.total_size(), 3);
  ASSERT_FALSE(first.next_page_token().empty());

  request.set_page_token(first.next_page_token());
  v1::ListPracticesResponse second;
  grpc::ClientContext second_context;
  ASSERT_TRUE(env->stub().ListPractices(&second_context, request, &second).ok());
  ASSERT_EQ(second.practices_size(), 1);
  EXPECT_EQ(second.practices(0).ods_code(), "Y99923");
  EXPECT_EQ(second.total_size(), 3);
  EXPECT_TRUE(second.next_page_token().empty());

  request.clear_page_token();
  request.set_name_contains("nosuchbird");
  v1::ListPracticesResponse empty;
  grpc::ClientContext empty_context;
  ASSERT_TRUE(env->stub().ListPractices(&empty_context, request, &empty).ok());
  EXPECT_EQ(empty.practices_size(), 0);
  EXPECT_EQ(empty.total_size(), 0);
}

TEST(PracticeBytesWire, FieldsAreWhatProtobufWrites) {
  v1::Practice practice = NewPractice("Y99931", std::string(300, 'A'));
  for (int32_t total : {0, 1, 127, 128, 16534, -1, std::numeric_limits<int32_t>::min(),
                        std::numeric_limits<int32_t>::max()}) {
    for (const std::string& token : {std::string(), std::string("t"), std::string(200, 'x')}) {
      v1::ListPracticesResponse reply;
      *reply.add_practices() = practice;
      *reply.add_practices() = v1::Practice();
      reply.set_next_page_token(token);
      reply.set_total_size(total);
      std::string bytes;
      wire::AppendBytesField(kField, practice.SerializeAsString(), &bytes);
      wire::AppendBytesField(kField, "", &bytes);
      if (!token.empty()) {
        wire::AppendBytesField(v1::ListPracticesResponse::kNextPageTokenFieldNumber, token, &bytes);
      }
      if (total != 0) {
        wire::AppendInt32Field(v1::ListPracticesResponse::kTotalSizeFieldNumber, total, &bytes);
      }
      EXPECT_EQ(bytes, reply.SerializeAsString()) << total << " " << token.size();
    }
  }
}

TEST(PracticeBytesMemo, ServesBytesForTheirOwnRowOnly) {
  PracticeBytesMemo memo(4000);
  std::string out;
  EXPECT_FALSE(memo.AppendField("A1", "data", 1, 1, &out));
  memo.Keep("A1", "data", 1, "data");  // the usual case: the stored bytes are the reply's
  memo.Keep("B2", "old", 3, "new");
  EXPECT_TRUE(memo.AppendField("A1", "data", 1, 1, &out));
  EXPECT_EQ(out, std::string("\x0a\x04"
                             "data"));
  out.clear();
  EXPECT_FALSE(memo.AppendField("A1", "data", 2, 1, &out));  // another revision
  EXPECT_FALSE(memo.AppendField("A1", "dat4", 1, 1, &out));  // other stored bytes
  EXPECT_FALSE(memo.AppendField("B2", "new", 3, 1, &out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(memo.AppendField("B2", "old", 3, 2, &out));
  EXPECT_EQ(out, std::string("\x12\x03"
                             "new"));
  memo.Keep("A1", "data2", 2, "data2");
  out.clear();
  EXPECT_FALSE(memo.AppendField("A1", "data", 1, 1, &out));
  EXPECT_TRUE(memo.AppendField("A1", "data2", 2, 1, &out));
  EXPECT_EQ(memo.entries(), 2u);
  // By revision alone (the SQLite walk's pages): only the revision kept.
  out.clear();
  EXPECT_FALSE(memo.AppendKeptField("A1", 1, 1, &out));
  EXPECT_FALSE(memo.AppendKeptField("Z9", 1, 1, &out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(memo.AppendKeptField("A1", 2, 1, &out));
  EXPECT_EQ(out, std::string("\x0a\x05"
                             "data2"));

  // Bounded: full, it starts again.
  for (int i = 0; i < 100; ++i) memo.Keep(absl::StrCat("C", i), std::string(100, 'x'), 1, "y");
  EXPECT_LE(memo.bytes(), 4000u);
  EXPECT_LT(memo.entries(), 100u);
  out.clear();
  EXPECT_TRUE(memo.AppendField("C99", std::string(100, 'x'), 1, 1, &out));
  EXPECT_EQ(out, std::string("\x0a\x01y"));
}

}  // namespace
}  // namespace dorset::registry::testing
