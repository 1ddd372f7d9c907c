#include "runtime/api/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"

namespace dorset::runtime {
namespace {

constexpr size_t kMacBytes = 16;  // truncated HMAC-SHA256: 128 bits is plenty against forgery
constexpr size_t kBlock = 64;     // SHA-256's block: the HMAC's pad length (RFC 2104)

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

// SHA-256 fetched from the provider once (the one-shot HMAC fetched it, and built the key's pads,
// on every call: ~22 k instructions a token, issue 16).
const EVP_MD* Sha256() {
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return sha256;
}

// The MAC's message: the position's length, so that position and fingerprint cannot trade bytes.
void AppendMessage(std::string_view fingerprint, std::string_view position, std::string* out) {
  absl::StrAppend(out, position.size(), ":", ToAbsl(position), "|", ToAbsl(fingerprint));
}

std::string OneShotMac(const std::string& key, std::string_view fingerprint,
                       std::string_view position) {
  std::string message;
  AppendMessage(fingerprint, position, &message);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &out_len);
  return std::string(reinterpret_cast<char*>(out), kMacBytes);
}

}  // namespace

// HMAC-SHA256 as RFC 2104 defines it: H((K ^ opad) || H((K ^ ipad) || m)), K the key (hashed
// first when longer than a block) padded to a block. The two states after the pads are worked out
// once per key; a token copies them (EVP_MD_CTX_copy_ex) and hashes the message: the same bytes as
// OpenSSL's HMAC(), so tokens issued before still verify.
struct PageTokenCodec::MacKey {
  MdCtx inner{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  MdCtx outer{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  bool ok = false;

  explicit MacKey(const std::string& key) {
    unsigned char block[kBlock] = {};
    if (Sha256() == nullptr || inner == nullptr || outer == nullptr) return;
    if (key.size() > kBlock) {
      unsigned int n = 0;
      if (EVP_Digest(key.data(), key.size(), block, &n, Sha256(), nullptr) != 1) return;
    } else {
      std::copy(key.begin(), key.end(), block);
    }
    unsigned char pad[kBlock];
    for (size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x36;
    ok = EVP_DigestInit_ex(inner.get(), Sha256(), nullptr) == 1 &&
         EVP_DigestUpdate(inner.get(), pad, kBlock) == 1;
    for (size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(outer.get(), Sha256(), nullptr) == 1 &&
         EVP_DigestUpdate(outer.get(), pad, kBlock) == 1;
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
  }
};

PageTokenCodec::PageTokenCodec(std::string key)
    : key_(std::move(key)), mac_key_(std::make_shared<const MacKey>(key_)) {}

std::string PageTokenCodec::Mac(std::string_view fingerprint, std::string_view position) const {
  thread_local const MdCtx work{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  thread_local std::string message;
  message.clear();
  AppendMessage(fingerprint, position, &message);
  unsigned char inner[EVP_MAX_MD_SIZE];
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (mac_key_->ok && work != nullptr &&
      EVP_MD_CTX_copy_ex(work.get(), mac_key_->inner.get()) == 1 &&
      EVP_DigestUpdate(work.get(), message.data(), message.size()) == 1 &&
      EVP_DigestFinal_ex(work.get(), inner, &n) == 1 &&
      EVP_MD_CTX_copy_ex(work.get(), mac_key_->outer.get()) == 1 &&
      EVP_DigestUpdate(work.get(), inner, n) == 1 && EVP_DigestFinal_ex(work.get(), out, &n) == 1) {
    return std::string(reinterpret_cast<char*>(out), kMacBytes);
  }
  return OneShotMac(key_, fingerprint, position);  // the same MAC, the slow way
}

absl::StatusOr<PageTokenCodec> PageTokenCodec::ForDataDir(const std::string& data_dir) {
  const std::string path = (std::filesystem::path(data_dir) / "page-token.key").string();
  if (std::ifstream in(path, std::ios::binary); in) {
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string key = buffer.str();
    if (key.size() == 32) return PageTokenCodec(std::move(key));
    return absl::FailedPreconditionError(absl::StrCat(path, " is damaged: expected 32 bytes"));
  }
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 32) != 1) {
    return absl::InternalError("no randomness for the page token key");
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(key.data(), static_cast<std::streamsize>(key.size()));
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  chmod(tmp.c_str(), 0600);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", path, ": ", ec.message()));
  return PageTokenCodec(std::move(key));
}

absl::StatusOr<PageTokenCodec> PageTokenCodec::Load(const std::string& key_file,
                                                    const std::string& data_dir) {
  if (key_file.empty()) return ForDataDir(data_dir);
  std::ifstream in(key_file, std::ios::binary);
  if (!in) return InvalidArgument("page_token_key_file", "cannot be read");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string key = buffer.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  if (key.size() < 32) {
    return InvalidArgument("page_token_key_file", "the key must be at least 32 bytes");
  }
  return PageTokenCodec(std::move(key));
}

std::string PageTokenCodec::Encode(std::string_view fingerprint, std::string_view position) const {
  std::string raw = Mac(fingerprint, position);
  raw.append(position);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> PageTokenCodec::Decode(std::string_view fingerprint,
                                                   std::string_view token) const {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(ToAbsl(token), &raw) || raw.size() < kMacBytes) {
    return InvalidArgument("page_token", "not a page token issued by this service");
  }
  const std::string position = raw.substr(kMacBytes);
  const std::string expected = Mac(fingerprint, position);
  if (CRYPTO_memcmp(expected.data(), raw.data(), kMacBytes) != 0) {
    return InvalidArgument("page_token",
                           "page token does not match this query (changed filter or order, or "
                           "altered token): start again without a page_token");
  }
  return position;
}

absl::StatusOr<int> EffectivePageSize(int requested, int default_size, int max_size) {
  if (requested < 0) return InvalidArgument("page_size", "must not be negative");
  if (requested == 0) return default_size;
  return std::min(requested, max_size);
}

}  // namespace dorset::runtime
