#include "services/engagement/storage/activity_rows.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/rows_common.h"

namespace dorset::engagement {
namespace {

using runtime::storage::Statement;
using runtime::storage::Transaction;

constexpr char kColumns[] =
    "id, kind, title, purpose, localities, finance_scheme, state, window_start, window_end, "
    "open_time, close_time, publish_time, outcome_summary, reported_participants, "
    "reported_source, create_time, update_time, version, allowed_practices";

v1::Activity FromRow(const Statement& s) {
  v1::Activity a;
  a.set_name(ActivityName(s.Text(0)));
  a.set_kind(static_cast<v1::ActivityKind>(s.Int(1)));
  a.set_title(s.Text(2));
  a.set_purpose(s.Text(3));
  for (std::string& l : SplitList(s.Text(4))) a.add_localities(std::move(l));
  a.set_finance_scheme(s.Text(5));
  a.set_state(static_cast<v1::ActivityState>(s.Int(6)));
  SetTimestamp(a.mutable_window_start_time(), s.OptionalInt(7));
  SetTimestamp(a.mutable_window_end_time(), s.OptionalInt(8));
  SetTimestamp(a.mutable_open_time(), s.OptionalInt(9));
  SetTimestamp(a.mutable_close_time(), s.OptionalInt(10));
  SetTimestamp(a.mutable_publish_time(), s.OptionalInt(11));
  if (s.IsNull(7)) a.clear_window_start_time();
  if (s.IsNull(8)) a.clear_window_end_time();
  if (s.IsNull(9)) a.clear_open_time();
  if (s.IsNull(10)) a.clear_close_time();
  if (s.IsNull(11)) a.clear_publish_time();
  a.set_outcome_summary(s.Text(12));
  a.set_reported_participants(s.Int(13));
  a.set_reported_source(s.Text(14));
  SetTimestamp(a.mutable_create_time(), s.Int(15));
  SetTimestamp(a.mutable_update_time(), s.Int(16));
  a.set_etag(Etag(s.Int(17)));
  for (std::string& p : SplitList(s.Text(18))) a.add_allowed_practices(std::move(p));
  return a;
}

}  // namespace

absl::Status SaveActivity(Transaction& tx, const std::string& id, const v1::Activity& a,
                          int64_t version, bool insert) {
  const char* sql =
      insert ? "INSERT INTO activity (kind, title, purpose, localities, finance_scheme, state, "
               "window_start, window_end, open_time, close_time, publish_time, outcome_summary, "
               "reported_participants, reported_source, create_time, update_time, version, "
               "allowed_practices, id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
             : "UPDATE activity SET kind=?, title=?, purpose=?, localities=?, finance_scheme=?, "
               "state=?, window_start=?, window_end=?, open_time=?, close_time=?, "
               "publish_time=?, outcome_summary=?, reported_participants=?, reported_source=?, "
               "create_time=?, update_time=?, version=?, allowed_practices=? WHERE id=?";
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
  std::vector<std::string> localities(a.localities().begin(), a.localities().end());
  std::vector<std::string> allowed(a.allowed_practices().begin(), a.allowed_practices().end());
  stmt.Bind(1, static_cast<int64_t>(a.kind()))
      .Bind(2, a.title())
      .Bind(3, a.purpose())
      .Bind(4, JoinList(localities))
      .Bind(5, a.finance_scheme())
      .Bind(6, static_cast<int64_t>(a.state()))
      .Bind(7, OptionalMicros(a.has_window_start_time(), a.window_start_time()))
      .Bind(8, OptionalMicros(a.has_window_end_time(), a.window_end_time()))
      .Bind(9, OptionalMicros(a.has_open_time(), a.open_time()))
      .Bind(10, OptionalMicros(a.has_close_time(), a.close_time()))
      .Bind(11, OptionalMicros(a.has_publish_time(), a.publish_time()))
      .Bind(12, a.outcome_summary())
      .Bind(13, a.reported_participants())
      .Bind(14, a.reported_source())
      .Bind(15, Micros(a.create_time()))
      .Bind(16, Micros(a.update_time()))
      .Bind(17, version)
      .Bind(18, JoinList(allowed))
      .Bind(19, id);
  return stmt.Run();
}

absl::StatusOr<v1::Activity> LoadActivity(Transaction& tx, const std::string& id) {
  return LoadRow<v1::Activity>(tx, "activity", kColumns, id, FromRow, "Activity", ActivityName(id));
}

absl::Status RequireActivity(Transaction& tx, const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT 1 FROM activity WHERE id = ?"));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound("Activity", ActivityName(id));
  return absl::OkStatus();
}

absl::StatusOr<bool> AnyActivity(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT 1 FROM activity LIMIT 1"));
  return stmt.Step();
}

absl::Status ListActivityRows(Transaction& tx, const runtime::storage::KeysetPage& page,
                              v1::ActivityState state,
                              google::protobuf::RepeatedPtrField<v1::Activity>& items,
                              std::string* next_page_token) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      tx.Prepare(absl::StrCat(
          "SELECT ", kColumns,
          " FROM activity WHERE id > ? AND (? = 0 OR state = ?) ORDER BY id LIMIT ?")));
  stmt.Bind(1, page.after())
      .Bind(2, static_cast<int64_t>(state))
      .Bind(3, static_cast<int64_t>(state))
      .Bind(4, page.fetch_limit());
  return page.Collect(
      stmt, FromRow, [](const Statement& row) { return row.Text(0); }, items, next_page_token);
}

absl::StatusOr<bool> ActivityHasResponses(Transaction& tx, const std::string& id) {
  ASSIGN_OR_RETURN(Statement responses,
                   tx.Prepare("SELECT 1 FROM response WHERE activity_id = ? LIMIT 1"));
  responses.Bind(1, id);
  return responses.Step();
}

absl::Status DeleteActivityRows(Transaction& tx, const std::string& id) {
  for (const char* sql :
       {"DELETE FROM delivery_change WHERE activity_id = ?",
        "DELETE FROM theme_coding WHERE activity_id = ?",
        "DELETE FROM decision WHERE activity_id = ?", "DELETE FROM theme WHERE activity_id = ?",
        "DELETE FROM response_count WHERE activity_id = ?", "DELETE FROM activity WHERE id = ?"}) {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
    stmt.Bind(1, id);
    RETURN_IF_ERROR(stmt.Run());
  }
  return absl::OkStatus();
}

}  // namespace dorset::engagement
