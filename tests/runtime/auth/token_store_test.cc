#include "runtime/auth/token_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
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

// Known vectors (FIPS 180-2 and `hashlib.sha256(...).hexdigest()`), across one and two blocks:
// the ledger's chain links and request hashes are these bytes.
TEST(Sha256HexTest, MatchesKnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000, 'a')),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
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

// Rewrites `path` in place as many tools do (truncate, then write), with a pause between the
// two so a reader can see the empty file.
void RewriteInPlace(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  absl::SleepFor(absl::Milliseconds(2));
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
}

std::string TokensText(const std::vector<std::pair<std::string, std::string>>& tokens) {
  std::string text;
  for (const auto& [token, principal] : tokens) {
    absl::StrAppend(&text, Sha256Hex(token), " ", principal, " reader\n");
  }
  return text;
}

TEST(TokenStoreTest, EmptyFileIsRefusedLoudlyAndThePreviousTableKept) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("tokens");
  dorset::testing::WriteFile(path, "# nothing yet\n");
  EXPECT_EQ(TokenStore::Load(path).status().code(), absl::StatusCode::kInvalidArgument);

  prometheus::Registry metrics;
  dorset::testing::WriteTokensFile(path, {{"kept", "alice", "reader"}});
  auto store = TokenStore::Load(path, &metrics);
  ASSERT_TRUE(store.ok()) << store.status();
  RewriteInPlace(path, "");
  EXPECT_EQ((*store)->Reload().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*store)->FindToken("kept").ok());
  RewriteInPlace(path, "# all revoked?\n\n");
  EXPECT_FALSE((*store)->Reload().ok());
  EXPECT_TRUE((*store)->FindToken("kept").ok());
  const std::string text = prometheus::TextSerializer().Serialize(metrics.Collect());
  EXPECT_NE(text.find(R"(dorset_tokens_reload_failures_total{reason="empty"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("dorset_tokens_entries 1"), std::string::npos) << text;
}

TEST(TokenStoreTest, DeletingTheFileRevokesEverythingUntilItIsBack) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("tokens");
  dorset::testing::WriteFile(
      path, TokensText({{"t1", "alice"}}) + "x509:finance.local finance-service reader\n");
  prometheus::Registry metrics;
  auto store = TokenStore::Load(path, &metrics);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->FindToken("t1").ok());

  ASSERT_EQ(unlink(path.c_str()), 0);
  EXPECT_EQ((*store)->Reload().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*store)->FindToken("t1").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ((*store)->FindCertificate("finance.local").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ((*store)->size(), 0u);
  EXPECT_NE(prometheus::TextSerializer()
                .Serialize(metrics.Collect())
                .find(R"(dorset_tokens_reload_failures_total{reason="deleted"} 1)"),
            std::string::npos);

  dorset::testing::WriteFile(path, TokensText({{"t1", "alice"}}));
  ASSERT_TRUE((*store)->Reload().ok());
  EXPECT_TRUE((*store)->FindToken("t1").ok());
}

TEST(TokenStoreTest, LookupsDuringRepeatedInPlaceRewritesNeverFail) {
  dorset::testing::TempDir dir;
  const std::string path = dir.File("tokens");
  // The token in use stays in every version; another line changes each time.
  auto version = [](int i) {
    return TokensText({{"steady", "alice"}, {absl::StrCat("rotating-", i), "bob"}});
  };
  dorset::testing::WriteFile(path, version(0));
  auto store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok());

  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::atomic<int> lookups{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&] {
      while (!stop.load()) {
        if (!(*store)->FindToken("steady").ok()) refused.fetch_add(1);
        lookups.fetch_add(1);
      }
    });
  }
  // Reloads as often as they can go (the periodic check would do one a second).
  std::thread reloader([&] {
    while (!stop.load()) (void)(*store)->Reload();
  });
  for (int i = 1; i <= 150; ++i) RewriteInPlace(path, version(i));
  stop.store(true);
  reloader.join();
  for (auto& t : callers) t.join();
  EXPECT_GT(lookups.load(), 0);
  EXPECT_EQ(refused.load(), 0) << "of " << lookups.load() << " lookups";
  ASSERT_TRUE((*store)->Reload().ok());
  EXPECT_TRUE((*store)->FindToken("rotating-150").ok());
}

}  // namespace
}  // namespace dorset::runtime
