#include "services/engagement/storage/response_rows.h"

#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"

namespace dorset::engagement {

using runtime::storage::Statement;
using runtime::storage::Transaction;

namespace {

constexpr char kResponseColumns[] =
    "id, activity_id, stakeholder_id, text, channel, locality, practice, themes, sentiment, "
    "publish_consent, anonymised, create_time, update_time, version";

v1::Response ResponseFromRow(const Statement& s) {
  v1::Response r;
  const std::string activity = s.Text(1);
  r.set_name(ResponseName(activity, s.Int(0)));
  if (!s.IsNull(2)) r.set_stakeholder(StakeholderName(s.Text(2)));
  r.set_text(s.Text(3));
  r.set_channel(static_cast<v1::Channel>(s.Int(4)));
  r.set_locality(s.Text(5));
  r.set_practice(s.Text(6));
  for (const std::string& t : SplitList(s.Text(7))) r.add_themes(ThemeName(activity, t));
  r.set_sentiment(static_cast<v1::Sentiment>(s.Int(8)));
  r.set_publish_consent(s.Int(9) != 0);
  r.set_anonymised(s.Int(10) != 0);
  SetTimestamp(r.mutable_create_time(), s.Int(11));
  SetTimestamp(r.mutable_update_time(), s.Int(12));
  r.set_etag(Etag(s.Int(13)));
  return r;
}

}  // namespace

absl::StatusOr<v1::Response> LoadResponse(Transaction& tx, const std::string& activity,
                                          int64_t id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare(absl::StrCat("SELECT ", kResponseColumns,
                                           " FROM response WHERE id = ? AND activity_id = ?")));
  stmt.Bind(1, id).Bind(2, activity);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound("Response", ResponseName(activity, id));
  return ResponseFromRow(stmt);
}

absl::StatusOr<bool> ResponseExists(Transaction& tx, const std::string& activity, int64_t id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT 1 FROM response WHERE id = ? AND activity_id = ?"));
  stmt.Bind(1, id).Bind(2, activity);
  return stmt.Step();
}

absl::Status ForResponsesAfter(Transaction& tx, const std::string& activity, int64_t after,
                               int limit, absl::FunctionRef<bool(v1::Response)> take) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare(absl::StrCat(
                       "SELECT ", kResponseColumns,
                       " FROM response WHERE activity_id = ? AND id > ? ORDER BY id LIMIT ?")));
  stmt.Bind(1, activity).Bind(2, after).Bind(3, limit);
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row || !take(ResponseFromRow(stmt))) return absl::OkStatus();
  }
}

absl::Status UpdateResponseRow(Transaction& tx, int64_t id,
                               const std::vector<std::string>& theme_ids, v1::Sentiment sentiment,
                               int64_t now, int64_t version) {
  ASSIGN_OR_RETURN(Statement update,
                   tx.Prepare("UPDATE response SET themes = ?, sentiment = ?, update_time = ?, "
                              "version = ? WHERE id = ?"));
  update.Bind(1, JoinList(theme_ids))
      .Bind(2, static_cast<int64_t>(sentiment))
      .Bind(3, now)
      .Bind(4, version)
      .Bind(5, id);
  return update.Run();
}

}  // namespace dorset::engagement
