// Bearer tokens mapped to principals and roles, read from a file that holds only SHA-256
// hashes of the tokens, never the tokens themselves. The file is re-read when it changes,
// so tokens rotate without a restart.
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

namespace dorset::runtime {

struct Identity {
  std::string principal;
  std::vector<std::string> roles;
};

class TokenStore {
 public:
  // Loads `path`; fails with INVALID_ARGUMENT naming the line when the file is malformed.
  static absl::StatusOr<std::unique_ptr<TokenStore>> Load(std::string path);

  // The identity of a bearer token, or UNAUTHENTICATED. Re-reads the file first when its
  // modification time changed (checked at most once a second). A bad rewrite keeps the last
  // good table and is logged.
  absl::StatusOr<Identity> FindToken(std::string_view token);
  // The identity configured for a client certificate's common name, or UNAUTHENTICATED.
  absl::StatusOr<Identity> FindCertificate(std::string_view common_name);

  // Forces a re-read now (tests; SIGHUP).
  absl::Status Reload();

 private:
  using Table = absl::flat_hash_map<std::string, Identity>;
  explicit TokenStore(std::string path) : path_(std::move(path)) {}
  void MaybeReload();
  absl::StatusOr<Identity> Find(const std::string& key);

  const std::string path_;
  absl::Mutex mu_;
  Table table_ ABSL_GUARDED_BY(mu_);
  int64_t loaded_mtime_ns_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Parses a tokens file's text (exposed for tests and the fuzzer).
absl::StatusOr<absl::flat_hash_map<std::string, Identity>> ParseTokensFile(std::string_view text);

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_AUTH_TOKEN_STORE_H_
