// The tamper-evident ledger's arithmetic (docs/finance.md "Tamper-evident ledger"): the
// canonical encoding of a posting and its SHA-256 chain hash, the chain's genesis per financial
// year, and a period seal's message and HMAC-SHA-256 signature under a key kept outside the
// database. Pure: no I/O except LoadSealKey.
#ifndef DORSET_SERVICES_FINANCE_LEDGER_CHAIN_H_
#define DORSET_SERVICES_FINANCE_LEDGER_CHAIN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dorset::finance {

// What a posting's hash covers: every stored field of the posting, and the hash of the posting
// before it in its financial year's chain.
struct ChainedPosting {
  int64_t id = 0;
  int year = 0;
  int month = 0;
  int kind = 0;
  std::string scheme;  // the scheme's resource name (names never change)
  int64_t amount = 0;
  std::string principal;
  int64_t create_micros = 0;
  std::string reason;
  std::string request_id;
  std::optional<int64_t> reverses;
};

// The hash a year's first posting chains to: SHA-256 of a fixed text naming the year.
std::string GenesisHash(int year);
// Lower-case hex SHA-256 of the posting's canonical encoding followed by `prev_hash`. Each
// field is length-prefixed, so no two postings share an encoding.
std::string PostingHash(const ChainedPosting& posting, std::string_view prev_hash);

// What a seal signs: closing (or reopening) month `month` of `year` when the year's chain ended
// at `head_posting_id` (0: no posting yet) with `head_hash` after `posting_count` postings, with
// the closed reports' digest.
struct SealContent {
  int year = 0;
  int month = 0;
  std::string action;  // "close" or "reopen"
  int64_t head_posting_id = 0;
  std::string head_hash;
  int64_t posting_count = 0;
  std::string snapshot_digest;  // hex SHA-256 over the closed reports ("" for a reopen)
  std::string principal;
  std::string reason;
  int64_t create_micros = 0;
};
std::string SealMessage(const SealContent& seal);
// Lower-case hex HMAC-SHA-256 of SealMessage(seal) under `key`.
std::string SealSignature(std::string_view key, const SealContent& seal);
// Constant-time comparison of two signatures.
bool SignaturesEqual(std::string_view a, std::string_view b);

// The seal key: the file `key_file` when set (production: a mounted Secret; at least 32 bytes,
// a trailing newline ignored), else `<data_dir>/ledger-seal.key`, created with 32 random bytes
// (mode 0600) when absent. FAILED_PRECONDITION naming ledger_seal_key_file when it is unreadable
// or too short.
absl::StatusOr<std::string> LoadSealKey(const std::string& key_file, const std::string& data_dir);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_LEDGER_CHAIN_H_
