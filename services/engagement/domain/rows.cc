#include "services/engagement/domain/rows.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/api/request_id.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::engagement {

int64_t ToMicros(absl::Time time) { return absl::ToUnixMicros(time); }
absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

void SetTimestamp(google::protobuf::Timestamp* out, int64_t micros) {
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    seconds -= 1;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

void SetTimestamp(google::protobuf::Timestamp* out, const std::optional<int64_t>& micros) {
  if (micros.has_value()) SetTimestamp(out, *micros);
}

absl::StatusOr<int64_t> TimestampMicros(const google::protobuf::Timestamp& ts,
                                        std::string_view field) {
  // 0001-01-01 .. 9999-12-31, as google.protobuf.Timestamp defines.
  if (ts.seconds() < -62135596800LL || ts.seconds() > 253402300799LL || ts.nanos() < 0 ||
      ts.nanos() > 999999999) {
    return runtime::InvalidArgument(field, "timestamp out of range");
  }
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

std::string JoinList(const std::vector<std::string>& items) { return absl::StrJoin(items, "\n"); }

std::vector<std::string> SplitList(std::string_view joined) {
  std::vector<std::string> out;
  if (joined.empty()) return out;
  for (absl::string_view part : absl::StrSplit(ToAbsl(joined), '\n')) out.emplace_back(part);
  return out;
}

std::string Etag(int64_t version) { return absl::StrCat("W/\"", version, "\""); }

absl::Status CheckEtag(std::string_view type, std::string_view name, std::string_view given,
                       int64_t version) {
  if (given.empty() || given == Etag(version)) return absl::OkStatus();
  return runtime::EtagMismatch(type, name);
}

absl::Status CheckMask(const google::protobuf::FieldMask& mask,
                       const std::vector<std::string_view>& allowed, std::string_view resource) {
  if (mask.paths().empty()) {
    return runtime::InvalidArgument("update_mask", "required: name the fields to change");
  }
  for (const std::string& path : mask.paths()) {
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || path == a;
    if (!ok) {
      return runtime::InvalidArgument(
          "update_mask",
          absl::StrCat("\"", path, "\" is not an updatable field of ", ToAbsl(resource)));
    }
  }
  return absl::OkStatus();
}

bool MaskHas(const google::protobuf::FieldMask& mask, std::string_view path) {
  for (const std::string& p : mask.paths()) {
    if (p == path) return true;
  }
  return false;
}

absl::Status CheckText(std::string_view text, size_t max, std::string_view field) {
  if (text.size() > max) {
    return runtime::InvalidArgument(field, absl::StrCat("at most ", max, " bytes"));
  }
  // Proto3 strings are UTF-8 already (the parser refuses anything else); NUL is refused so the
  // text is safe in every sink.
  if (text.find('\0') != std::string_view::npos) {
    return runtime::InvalidArgument(field, "must not contain NUL characters");
  }
  return absl::OkStatus();
}

}  // namespace dorset::engagement
