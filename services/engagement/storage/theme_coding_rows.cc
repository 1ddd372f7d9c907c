#include "services/engagement/storage/theme_coding_rows.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/names.h"

namespace dorset::engagement {

using runtime::storage::Statement;
using runtime::storage::Transaction;

absl::StatusOr<int64_t> AppendThemeCoding(Transaction& tx, const std::string& activity,
                                          v1::ThemeCoding& coding) {
  ASSIGN_OR_RETURN(Statement last, tx.Prepare("SELECT COALESCE(MAX(seq), 0) FROM theme_coding "
                                              "WHERE activity_id = ?"));
  last.Bind(1, activity);
  ASSIGN_OR_RETURN(bool row, last.Step());
  const int64_t seq = (row ? last.Int(0) : 0) + 1;
  coding.set_name(absl::StrCat(ActivityName(activity), "/themeCodings/", seq));
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(coding, &json).ok()) {
    return absl::InternalError("theme coding not encodable");
  }
  ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO theme_coding (activity_id, seq, "
                                                "coding) VALUES (?,?,?)"));
  insert.Bind(1, activity).Bind(2, seq).Bind(3, json);
  RETURN_IF_ERROR(insert.Run());
  return seq;
}

absl::StatusOr<std::vector<v1::ThemeCoding>> ThemeCodingsAfter(Transaction& tx,
                                                               const std::string& activity,
                                                               int64_t after, int limit) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT coding FROM theme_coding WHERE activity_id = ? AND seq > ? "
                              "ORDER BY seq LIMIT ?"));
  stmt.Bind(1, activity).Bind(2, after).Bind(3, static_cast<int64_t>(limit));
  std::vector<v1::ThemeCoding> codings;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return codings;
    v1::ThemeCoding coding;
    if (!google::protobuf::util::JsonStringToMessage(stmt.Text(0), &coding).ok()) {
      return absl::DataLossError("a stored theme coding is not readable");
    }
    codings.push_back(std::move(coding));
  }
}

}  // namespace dorset::engagement
