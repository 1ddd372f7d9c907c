// Opaque, tamper-proof page tokens (AIP-158). A token carries the position after the last
// item returned plus a fingerprint of the query it belongs to, and is signed with
// HMAC-SHA256 under a key kept in the service's data directory (so tokens survive restarts),
// or in the file `page_token_key_file` names, shared by every replica of the service.
// A token edited by hand, or replayed against a different filter or order, is refused with
// INVALID_ARGUMENT naming `page_token`: clients cannot widen a query by forging one.
//
//   PageTokenCodec codec = ...;  // one per service, from PageTokenCodec::ForDataDir
//   std::string token = codec.Encode(query_fingerprint, last_key);
//   ASSIGN_OR_RETURN(std::string last_key, codec.Decode(query_fingerprint, request.page_token()));
#ifndef DORSET_RUNTIME_API_PAGE_TOKEN_H_
#define DORSET_RUNTIME_API_PAGE_TOKEN_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dorset::runtime {

class PageTokenCodec {
 public:
  // Loads the signing key from `<data_dir>/page-token.key`, creating it (random, 32 bytes,
  // mode 0600) on first use.
  static absl::StatusOr<PageTokenCodec> ForDataDir(const std::string& data_dir);
  // The key all replicas of a service share, from `key_file` (the `page_token_key_file`
  // setting, a Secret mount: at least 32 bytes, a trailing line end ignored, e.g. the output of
  // `openssl rand -base64 32`); with `key_file` empty, ForDataDir(data_dir). A page from one
  // replica then continues on another. INVALID_ARGUMENT naming page_token_key_file when the
  // file cannot be read or is too short (its contents never appear in a message).
  static absl::StatusOr<PageTokenCodec> Load(const std::string& key_file,
                                             const std::string& data_dir);
  explicit PageTokenCodec(std::string key);

  // `fingerprint`: a string that identifies the query (filter, order, parent) - anything
  // that, if changed, must invalidate the token. `position`: opaque to the codec.
  std::string Encode(std::string_view fingerprint, std::string_view position) const;
  // The position, or INVALID_ARGUMENT (field "page_token").
  absl::StatusOr<std::string> Decode(std::string_view fingerprint, std::string_view token) const;

  // The HMAC's key schedule, worked out once (page_token.cc): SHA-256 states after the key's
  // inner and outer pads, copied per token.
  struct MacKey;

 private:
  std::string Mac(std::string_view fingerprint, std::string_view position) const;

  std::string key_;
  std::shared_ptr<const MacKey> mac_key_;  // shared by copies of the codec; read-only
};

// Validates an AIP page_size: 0 means `default_size`, negative is INVALID_ARGUMENT, above
// `max_size` is clamped to it.
absl::StatusOr<int> EffectivePageSize(int requested, int default_size, int max_size);

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_API_PAGE_TOKEN_H_
