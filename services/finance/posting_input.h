// A posting request checked on its own (before it reaches the ledger): fields parsed and
// range-checked with the field path of any error, and the canonical hash of its content that
// decides whether a reused request_id is a retry (same hash) or a conflict (different hash).
#ifndef DORSET_SERVICES_FINANCE_POSTING_INPUT_H_
#define DORSET_SERVICES_FINANCE_POSTING_INPUT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace dorset::finance {

struct PostingInput {
  std::string field;   // "posting" or "postings[3]": prefix for error field paths
  std::string scheme;  // empty for a reversal (taken from the original)
  int year = 0;
  int month = 0;
  int kind = 0;
  int64_t amount = 0;
  bool amount_from_decimal = false;  // given as amount_decimal: errors name that field
  std::string reason;
  std::optional<int64_t> reverses;  // id of the posting reversed
};

struct PostingBatch {
  std::string request_id;
  std::string principal;
  std::vector<PostingInput> postings;
  std::string content_hash;  // hex SHA-256 of the canonical content (principal included)
};

inline constexpr int kMaxBatchPostings = 1000;

// Parses one posting (`single` = CreatePosting, field prefix "posting") or a batch
// (BatchCreatePostings, field prefix "postings[i]"). INVALID_ARGUMENT / OUT_OF_RANGE name
// the field.
absl::StatusOr<PostingBatch> ParsePostings(const std::string& request_id,
                                           const std::string& principal,
                                           std::span<const v1::Posting* const> postings,
                                           bool single);
inline absl::StatusOr<PostingBatch> ParsePostings(
    const std::string& request_id, const std::string& principal,
    const google::protobuf::RepeatedPtrField<v1::Posting>& postings, bool single) {
  return ParsePostings(
      request_id, principal,
      std::span<const v1::Posting* const>(postings.data(), static_cast<size_t>(postings.size())),
      single);
}

// "postings/123" -> 123, or INVALID_ARGUMENT naming `field`.
absl::StatusOr<int64_t> ParsePostingName(const std::string& name, std::string_view field);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_POSTING_INPUT_H_
