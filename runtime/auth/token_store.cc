#include "runtime/auth/token_store.h"

#include <openssl/sha.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/auth/permissions.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {
namespace {

absl::StatusOr<int64_t> MtimeNs(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("tokens file not readable: ", path));
  }
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool IsHex64(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

absl::StatusOr<absl::flat_hash_map<std::string, Identity>> ParseTokensFile(std::string_view text) {
  absl::flat_hash_map<std::string, Identity> table;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_number;
    if (auto hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const std::string where = absl::StrCat("tokens file line ", line_number);
    if (parts.size() != 3) {
      return InvalidArgument(where, "expected: <sha256-hex|x509:common-name> <principal> <roles>");
    }
    std::string key(parts[0]);
    if (absl::StartsWith(key, "x509:")) {
      if (key.size() == 5) return InvalidArgument(where, "empty certificate common name");
    } else if (IsHex64(key)) {
      key = absl::AsciiStrToLower(key);
    } else {
      return InvalidArgument(where, "first field must be a 64-digit SHA-256 hex or x509:<name>");
    }
    Identity identity;
    identity.principal = std::string(parts[1]);
    for (absl::string_view role : absl::StrSplit(parts[2], ',', absl::SkipEmpty())) {
      if (!IsKnownRole(std::string_view(role.data(), role.size()))) {
        return InvalidArgument(where, absl::StrCat("unknown role \"", role, "\""));
      }
      identity.roles.emplace_back(role);
    }
    if (identity.roles.empty()) return InvalidArgument(where, "no roles");
    if (!table.emplace(key, std::move(identity)).second) {
      return InvalidArgument(where, "duplicate entry");
    }
  }
  return table;
}

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Load(std::string path) {
  std::unique_ptr<TokenStore> store(new TokenStore(std::move(path)));  // private constructor
  RETURN_IF_ERROR(store->Reload());
  return store;
}

absl::Status TokenStore::Reload() {
  ASSIGN_OR_RETURN(int64_t mtime, MtimeNs(path_));
  ASSIGN_OR_RETURN(std::string text, ReadFile(path_));
  ASSIGN_OR_RETURN(Table table, ParseTokensFile(text));
  absl::MutexLock lock(&mu_);
  table_ = std::move(table);
  loaded_mtime_ns_ = mtime;
  last_check_ = absl::Now();
  return absl::OkStatus();
}

void TokenStore::MaybeReload() {
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now - last_check_ < absl::Seconds(1)) return;
    last_check_ = now;
  }
  absl::StatusOr<int64_t> mtime = MtimeNs(path_);
  bool changed = false;
  {
    absl::MutexLock lock(&mu_);
    changed = mtime.ok() && *mtime != loaded_mtime_ns_;
  }
  if (!changed) return;
  if (absl::Status status = Reload(); status.ok()) {
    log::Info("tokens file reloaded", {{"path", path_}});
  } else {
    log::Error("tokens file reload failed; keeping the previous tokens",
               {{"path", path_}, {"error", std::string(status.message())}});
    absl::MutexLock lock(&mu_);
    loaded_mtime_ns_ = *mtime;  // do not retry a broken file on every call
  }
}

absl::StatusOr<Identity> TokenStore::Find(const std::string& key) {
  MaybeReload();
  absl::MutexLock lock(&mu_);
  auto it = table_.find(key);
  if (it == table_.end()) return Unauthenticated("unknown or revoked credentials");
  return it->second;
}

absl::StatusOr<Identity> TokenStore::FindToken(std::string_view token) {
  return Find(Sha256Hex(token));
}

absl::StatusOr<Identity> TokenStore::FindCertificate(std::string_view common_name) {
  return Find(absl::StrCat("x509:", absl::string_view(common_name.data(), common_name.size())));
}

}  // namespace dorset::runtime
