#include "runtime/api/page_token.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"

namespace dorset::runtime {
namespace {

constexpr size_t kMacBytes = 16;  // truncated HMAC-SHA256: 128 bits is plenty against forgery

std::string Mac(const std::string& key, std::string_view fingerprint, std::string_view position) {
  std::string message =
      absl::StrCat(position.size(), ":", ToAbsl(position), "|", ToAbsl(fingerprint));
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &out_len);
  return std::string(reinterpret_cast<char*>(out), kMacBytes);
}

}  // namespace

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
  std::string raw = Mac(key_, fingerprint, position);
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
  const std::string expected = Mac(key_, fingerprint, position);
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
