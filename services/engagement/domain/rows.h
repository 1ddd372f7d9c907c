// Small helpers shared by the engagement store code: time and list encodings of the columns,
// etags, the request-id log that makes creates idempotent, and field-mask checks.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace dorset::engagement {

int64_t ToMicros(absl::Time time);
absl::Time FromMicros(int64_t micros);
void SetTimestamp(google::protobuf::Timestamp* out, int64_t micros);
void SetTimestamp(google::protobuf::Timestamp* out, const std::optional<int64_t>& micros);
// INVALID_ARGUMENT naming `field` when the timestamp is out of range.
absl::StatusOr<int64_t> TimestampMicros(const google::protobuf::Timestamp& ts,
                                        std::string_view field);

// Lists are stored as '\n'-joined text (ids never contain '\n').
std::string JoinList(const std::vector<std::string>& items);
std::vector<std::string> SplitList(std::string_view joined);

std::string Etag(int64_t version);
// ABORTED when `given` is set and is not the current etag.
absl::Status CheckEtag(std::string_view type, std::string_view name, std::string_view given,
                       int64_t version);

// INVALID_ARGUMENT unless the mask is non-empty and every path is in `allowed`.
absl::Status CheckMask(const google::protobuf::FieldMask& mask,
                       const std::vector<std::string_view>& allowed, std::string_view resource);
bool MaskHas(const google::protobuf::FieldMask& mask, std::string_view path);

// INVALID_ARGUMENT naming `field` when `text` is longer than `max` bytes or not UTF-8 text.
absl::Status CheckText(std::string_view text, size_t max, std::string_view field);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_ROWS_H_
