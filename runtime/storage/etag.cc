// The one etag format: W/"<revision>" (see etag.h).
#include "runtime/storage/etag.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

constexpr std::string_view kPrefix = "W/\"";
constexpr std::string_view kSuffix = "\"";

}  // namespace

std::string Etag(int64_t revision) { return absl::StrCat("W/\"", revision, "\""); }

absl::StatusOr<int64_t> ParseEtag(std::string_view etag, std::string_view field) {
  const auto refuse = [&] {
    return runtime::InvalidArgument(
        field, "not an etag of this API: expected W/\"<revision>\" as returned with the resource");
  };
  if (etag.size() <= kPrefix.size() + kSuffix.size() || !etag.starts_with(kPrefix) ||
      !etag.ends_with(kSuffix)) {
    return refuse();
  }
  const std::string_view digits =
      etag.substr(kPrefix.size(), etag.size() - kPrefix.size() - kSuffix.size());
  // Digits only: SimpleAtoi would also take a sign, spaces or a leading '+'.
  for (char c : digits) {
    if (c < '0' || c > '9') return refuse();
  }
  int64_t revision = 0;
  if (digits.size() > 1 && digits[0] == '0') return refuse();  // one spelling per revision
  if (!absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), &revision) ||
      revision <= 0) {
    return refuse();
  }
  return revision;
}

absl::Status CheckEtag(std::string_view given, int64_t current_revision,
                       std::string_view resource_type, std::string_view resource_name,
                       std::string_view field) {
  if (given.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(int64_t revision, ParseEtag(given, field));
  if (revision != current_revision) return runtime::EtagMismatch(resource_type, resource_name);
  return absl::OkStatus();
}

}  // namespace dorset::runtime::storage
