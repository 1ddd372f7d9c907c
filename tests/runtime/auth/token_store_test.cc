#include "runtime/auth/token_store.h"

#include <fstream>

#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"

namespace dorset::runtime {
namespace {

TEST(TokenStoreTest, FindsTokensByHashOnly) {
  dorset::testing::TempDir dir;
  dorset::testing::WriteTokensFile(dir.File("tokens"),
                                   {{"s3cret", "alice", "reader,finance-editor"}});
  auto store = TokenStore::Load(dir.File("tokens"));
  ASSERT_TRUE(store.ok()) << store.status();
  auto identity = (*store)->FindToken("s3cret");
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(identity->principal, "alice");
  EXPECT_EQ(identity->roles, (std::vector<std::string>{"reader", "finance-editor"}));
  EXPECT_EQ((*store)->FindToken("wrong").status().code(), absl::StatusCode::kUnauthenticated);
  // The file must never hold the token itself.
  std::ifstream in(dir.File("tokens"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("s3cret"), std::string::npos);
}

TEST(TokenStoreTest, RejectsMalformedFilesNamingTheLine) {
  EXPECT_NE(ParseTokensFile("nothex alice reader\n").status().message().find("line 1"),
            std::string::npos);
  const std::string hash = Sha256Hex("t");
  EXPECT_NE(ParseTokensFile("# c\n" + hash + " alice wizard\n").status().message().find("line 2"),
            std::string::npos);
  EXPECT_FALSE(ParseTokensFile(hash + " a reader\n" + hash + " b reader\n").ok());
  EXPECT_TRUE(ParseTokensFile("x509:finance.dorset.nhs.uk finance-service reader\n").ok());
}

TEST(TokenStoreTest, ReloadsWhenTheFileChangesAndKeepsOldTableOnBadRewrite) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("tokens");
  dorset::testing::WriteTokensFile(path, {{"old", "alice", "reader"}});
  auto store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->FindToken("old").ok());

  absl::SleepFor(absl::Milliseconds(1100));  // reload checks at most once a second
  dorset::testing::WriteTokensFile(path, {{"new", "bob", "admin"}});
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_TRUE((*store)->FindToken("new").ok());
  EXPECT_FALSE((*store)->FindToken("old").ok());  // revoked by removal

  dorset::testing::WriteFile(path, "garbage line\n");
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_TRUE((*store)->FindToken("new").ok());  // the broken file did not lock everyone out
}

TEST(TokenStoreTest, CertificateIdentities) {
  dorset::testing::TempDir dir;
  dorset::testing::WriteFile(dir.File("tokens"), "x509:finance.local finance-service reader\n");
  auto store = TokenStore::Load(dir.File("tokens"));
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->FindCertificate("finance.local")->principal, "finance-service");
  EXPECT_FALSE((*store)->FindCertificate("intruder.local").ok());
}

}  // namespace
}  // namespace dorset::runtime
