// Bearer tokens mapped to principals and roles, read from a file that holds only SHA-256
// hashes of the tokens, never the tokens themselves. The file is re-read when it changes,
// so tokens rotate without a restart. Edge cases (docs/security.md):
//   - a reload swaps in a whole new table at once; a call never sees a half-loaded one, and a
//     file that changes while it is read is read again on the next check;
//   - a file with no entries (empty, or only comments) is refused: the previous table stays,
//     an error is logged and dorset_tokens_reload_failures_total{reason="empty"} counts it
//     (an empty file is what a half-done rewrite looks like);
//   - deleting the file is deliberate and revokes every token and certificate identity until a
//     file is back (fail closed: whoever deletes the credentials wants nobody let in).
//
// File format, one entry per line ('#' starts a comment):
//   <sha256 hex of the token> <principal> <role>[,<role>...]
//   x509:<certificate common name> <principal> <role>[,<role>...]   (mutual TLS callers)
#ifndef DORSET_RUNTIME_AUTH_TOKEN_STORE_H_
#define DORSET_RUNTIME_AUTH_TOKEN_STORE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace dorset::runtime {

struct Identity {
  std::string principal;
  std::vector<std::string> roles;
};

class TokenStore {
 public:
  // Loads `path`; fails with INVALID_ARGUMENT naming the line when the file is malformed or
  // has no entries. `metrics` (may be null) receives the reload metrics.
  static absl::StatusOr<std::unique_ptr<TokenStore>> Load(std::string path,
                                                          prometheus::Registry* metrics = nullptr);

  // The identity of a bearer token, or UNAUTHENTICATED. Re-reads the file first when its
  // modification time changed (checked at most once a second). A bad rewrite keeps the last
  // good table and is logged.
  absl::StatusOr<Identity> FindToken(std::string_view token);
  // The identity configured for a client certificate's common name, or UNAUTHENTICATED.
  absl::StatusOr<Identity> FindCertificate(std::string_view common_name);

  // Forces a re-read now (tests; SIGHUP). On error the table in force is kept (or, when the
  // file was deleted, emptied), the error logged and counted.
  absl::Status Reload();

  // Entries in the table in force.
  size_t size();

 private:
  using Table = absl::flat_hash_map<std::string, Identity>;
  // What identifies one version of the file; a change of any part means "read it again".
  struct FileVersion {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const FileVersion&) const = default;
  };

  TokenStore(std::string path, prometheus::Registry* metrics);
  static absl::StatusOr<FileVersion> VersionOf(const std::string& path);
  absl::Status ReloadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_);
  void MaybeReload();
  absl::StatusOr<Identity> Find(const std::string& key);
  void Fail(std::string_view reason, const absl::Status& status);

  const std::string path_;
  absl::Mutex reload_mu_;  // one reload at a time; never held by lookups
  FileVersion loaded_ ABSL_GUARDED_BY(reload_mu_);
  absl::Mutex mu_;
  std::shared_ptr<const Table> table_ ABSL_GUARDED_BY(mu_);
  absl::Time last_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  prometheus::Family<prometheus::Counter>* failures_ = nullptr;
  prometheus::Gauge* entries_ = nullptr;
};

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Parses a tokens file's text (exposed for tests and the fuzzer).
absl::StatusOr<absl::flat_hash_map<std::string, Identity>> ParseTokensFile(std::string_view text);

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_AUTH_TOKEN_STORE_H_
