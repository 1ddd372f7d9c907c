#include "services/finance/ledger_chain.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "runtime/auth/token_store.h"

namespace dorset::finance {
namespace {

// "<length>:<bytes>;" so that no field can run into the next.
void Field(std::string& out, std::string_view value) {
  absl::StrAppend(&out, value.size(), ":", absl::string_view(value.data(), value.size()), ";");
}
void Field(std::string& out, int64_t value) { Field(out, absl::StrCat(value)); }

constexpr size_t kMinKeyBytes = 32;

}  // namespace

std::string GenesisHash(int year) {
  return runtime::Sha256Hex(absl::StrCat("dorset.finance.chain.v1;genesis;", year));
}

std::string PostingHash(const ChainedPosting& p, std::string_view prev_hash) {
  // The same bytes as Field() above, written into one buffer the thread keeps (issue 16: the
  // encoding through StrCat and a fresh string cost about a third of a link's hash per posting).
  thread_local std::string canonical;
  canonical.clear();
  const auto text = [](std::string_view value) {
    char length[24];
    const auto end = std::to_chars(length, length + sizeof(length), value.size()).ptr;
    canonical.append(length, end).append(1, ':').append(value).append(1, ';');
  };
  const auto number = [&text](int64_t value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
    text(std::string_view(digits, static_cast<size_t>(end - digits)));
  };
  text("dorset.finance.posting.v1");
  number(p.id);
  number(p.year);
  number(p.month);
  number(p.kind);
  text(p.scheme);
  number(p.amount);
  text(p.principal);
  number(p.create_micros);
  text(p.reason);
  text(p.request_id);
  number(p.reverses.value_or(0));
  text(prev_hash);
  return runtime::Sha256Hex(canonical);
}

std::string SealMessage(const SealContent& s) {
  std::string message;
  Field(message, "dorset.finance.seal.v1");
  Field(message, s.year);
  Field(message, s.month);
  Field(message, s.action);
  Field(message, s.head_posting_id);
  Field(message, s.head_hash);
  Field(message, s.posting_count);
  Field(message, s.snapshot_digest);
  Field(message, s.principal);
  Field(message, s.reason);
  Field(message, s.create_micros);
  return message;
}

std::string SealSignature(std::string_view key, const SealContent& seal) {
  const std::string message = SealMessage(seal);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac), static_cast<size_t>(length)));
}

bool SignaturesEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<std::string> LoadSealKey(const std::string& key_file, const std::string& data_dir) {
  const bool configured = !key_file.empty();
  const std::string path =
      configured ? key_file : (std::filesystem::path(data_dir) / "ledger-seal.key").string();
  if (std::ifstream in(path, std::ios::binary); in) {
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string key = buffer.str();
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    if (key.size() < kMinKeyBytes) {
      return absl::FailedPreconditionError(
          absl::StrCat("ledger_seal_key_file: ", path, " holds ", key.size(),
                       " bytes; a seal key needs at least ", kMinKeyBytes));
    }
    return key;
  }
  if (configured) {
    return absl::FailedPreconditionError(absl::StrCat("ledger_seal_key_file: cannot read ", path));
  }
  // Development default: a random key beside the store, never inside it. Written as hex text
  // so that reading it back (which drops a trailing newline) gives the same key.
  std::string raw(kMinKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1) {
    return absl::InternalError("no randomness for the ledger seal key");
  }
  const std::string key = absl::BytesToHexString(raw);
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
  return key;
}

}  // namespace dorset::finance
