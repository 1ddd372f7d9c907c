#include "runtime/auth/token_store.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "runtime/auth/permissions.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {
namespace {

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

absl::StatusOr<TokenStore::FileVersion> TokenStore::VersionOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no tokens file at ", path));
    return absl::UnavailableError(absl::StrCat("tokens file not readable: ", path));
  }
  FileVersion v;
  v.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  v.size = static_cast<int64_t>(st.st_size);
  v.inode = static_cast<uint64_t>(st.st_ino);
  return v;
}

std::string Sha256Hex(std::string_view data) {
  // OpenSSL 3's one-shot SHA256() looks the algorithm up in its provider tables on every call,
  // which cost more than the hashing itself for the short inputs here (a posting's chain link, a
  // request's content: ~20k instructions each, bench/README.md "Writes"). The algorithm is
  // fetched once and each thread keeps one digest context.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                                                 EVP_MD_CTX_free};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int size = 0;
  if (sha256 == nullptr || ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &size) != 1 || size != SHA256_DIGEST_LENGTH) {
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  // Written in place (a push_back per digit cost ~1k instructions a hash: a posting makes two).
  std::string out(2 * SHA256_DIGEST_LENGTH, '\0');
  char* hex = out.data();
  for (unsigned char b : digest) {
    *hex++ = kHex[b >> 4];
    *hex++ = kHex[b & 0xf];
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

TokenStore::TokenStore(std::string path, prometheus::Registry* metrics)
    : path_(std::move(path)), table_(std::make_shared<const Table>()) {
  if (metrics != nullptr) {
    failures_ = &prometheus::BuildCounter()
                     .Name("dorset_tokens_reload_failures_total")
                     .Help("Tokens file reloads refused (previous table kept) or the file deleted")
                     .Register(*metrics);
    entries_ = &prometheus::BuildGauge()
                    .Name("dorset_tokens_entries")
                    .Help("Entries (tokens and certificate identities) in the table in force")
                    .Register(*metrics)
                    .Add({});
  }
}

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Load(std::string path,
                                                             prometheus::Registry* metrics) {
  // Private constructor.
  std::unique_ptr<TokenStore> store(new TokenStore(std::move(path), metrics));
  absl::MutexLock lock(&store->reload_mu_);
  RETURN_IF_ERROR(store->ReloadLocked());
  return store;
}

void TokenStore::Fail(std::string_view reason, const absl::Status& status) {
  log::Error("tokens file not loaded",
             {{"path", path_}, {"reason", reason}, {"error", std::string(status.message())}});
  if (failures_ != nullptr) failures_->Add({{"reason", std::string(reason)}}).Increment();
}

absl::Status TokenStore::Reload() {
  absl::MutexLock lock(&reload_mu_);
  return ReloadLocked();
}

absl::Status TokenStore::ReloadLocked() {
  absl::StatusOr<FileVersion> before = VersionOf(path_);
  if (!before.ok()) {
    if (before.status().code() == absl::StatusCode::kNotFound) {
      // Deliberate: deleting the credentials revokes them all (fail closed).
      bool had_entries = false;
      {
        absl::MutexLock lock(&mu_);
        had_entries = !table_->empty();
        table_ = std::make_shared<const Table>();
      }
      if (entries_ != nullptr) entries_->Set(0);
      if (had_entries || loaded_.mtime_ns != -1) {
        Fail("deleted", absl::NotFoundError("the tokens file was deleted: every token and "
                                            "certificate identity is revoked until it is back"));
      }
      loaded_ = FileVersion{};
    }
    return before.status();
  }
  absl::StatusOr<std::string> text = ReadFile(path_);
  absl::StatusOr<FileVersion> after = VersionOf(path_);
  if (!text.ok() || !after.ok() || !(*after == *before)) {
    // Being rewritten as we read: try again at the next check, keep the table in force.
    return absl::UnavailableError(absl::StrCat("tokens file ", path_, " changed while read"));
  }
  loaded_ = *before;  // a refused version is not retried until it changes again
  absl::StatusOr<Table> table = ParseTokensFile(*text);
  if (!table.ok()) {
    Fail("malformed", table.status());
    return table.status();
  }
  if (table->empty()) {
    const absl::Status empty =
        InvalidArgument("tokens_file",
                        "has no entries; keeping the previous tokens (to revoke every token, "
                        "delete the file)");
    Fail("empty", empty);
    return empty;
  }
  const size_t count = table->size();
  {
    absl::MutexLock lock(&mu_);
    table_ = std::make_shared<const Table>(*std::move(table));  // one swap: never half-loaded
    last_check_ = absl::Now();
  }
  if (entries_ != nullptr) entries_->Set(static_cast<double>(count));
  return absl::OkStatus();
}

size_t TokenStore::size() {
  absl::MutexLock lock(&mu_);
  return table_->size();
}

void TokenStore::MaybeReload() {
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now - last_check_ < absl::Seconds(1)) return;
    last_check_ = now;
  }
  // One caller checks; the others go on with the table in force.
  if (!reload_mu_.TryLock()) return;
  absl::StatusOr<FileVersion> version = VersionOf(path_);
  const bool changed = version.ok() ? !(*version == loaded_) : loaded_.mtime_ns != -1;
  if (changed) {
    if (absl::Status status = ReloadLocked(); status.ok()) {
      log::Info("tokens file reloaded", {{"path", path_}});
    }
  }
  reload_mu_.Unlock();
}

absl::StatusOr<Identity> TokenStore::Find(const std::string& key) {
  MaybeReload();
  std::shared_ptr<const Table> table;
  {
    absl::MutexLock lock(&mu_);
    table = table_;
  }
  auto it = table->find(key);
  if (it == table->end()) return Unauthenticated("unknown or revoked credentials");
  return it->second;
}

absl::StatusOr<Identity> TokenStore::FindToken(std::string_view token) {
  return Find(Sha256Hex(token));
}

absl::StatusOr<Identity> TokenStore::FindCertificate(std::string_view common_name) {
  return Find(absl::StrCat("x509:", absl::string_view(common_name.data(), common_name.size())));
}

}  // namespace dorset::runtime
