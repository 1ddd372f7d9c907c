#include "services/engagement/storage/theme_rows.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/rows_common.h"

namespace dorset::engagement {
namespace {

using runtime::storage::Statement;
using runtime::storage::Transaction;

constexpr char kColumns[] =
    "activity_id, id, display_name, description, create_time, update_time, version";

v1::Theme FromRow(const Statement& s) {
  v1::Theme t;
  t.set_name(ThemeName(s.Text(0), s.Text(1)));
  t.set_display_name(s.Text(2));
  t.set_description(s.Text(3));
  SetTimestamp(t.mutable_create_time(), s.Int(4));
  SetTimestamp(t.mutable_update_time(), s.Int(5));
  t.set_etag(Etag(s.Int(6)));
  return t;
}

// Whether `table` has a row of the activity whose '\n'-joined `themes` list holds `id`: the
// whole list, its head, its tail or between two '\n's (ids have no LIKE wildcards:
// [a-z][a-z0-9-]*). The same SQL on both engines.
absl::StatusOr<bool> TaggedIn(Transaction& tx, const char* table, const std::string& activity,
                              const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare(absl::StrFormat(
                       "SELECT 1 FROM %s WHERE activity_id = ? AND "
                       "(themes = ? OR themes LIKE ? OR themes LIKE ? OR themes LIKE ?) LIMIT 1",
                       table)));
  stmt.Bind(1, activity)
      .Bind(2, id)
      .Bind(3, absl::StrCat(id, "\n%"))
      .Bind(4, absl::StrCat("%\n", id))
      .Bind(5, absl::StrCat("%\n", id, "\n%"));
  return stmt.Step();
}

}  // namespace

absl::StatusOr<v1::Theme> LoadTheme(Transaction& tx, const std::string& activity,
                                    const std::string& id) {
  return LoadChildRow<v1::Theme>(tx, "theme", kColumns, activity, id, FromRow, "Theme",
                                 ThemeName(activity, id));
}

absl::StatusOr<bool> ThemeExists(Transaction& tx, const std::string& activity,
                                 const std::string& id) {
  return ChildRowExists(tx, "theme", activity, id);
}

absl::Status SaveTheme(Transaction& tx, const std::string& activity, const std::string& id,
                       const v1::Theme& t, int64_t version, bool insert) {
  const char* sql = insert ? "INSERT INTO theme (display_name, description, create_time, "
                             "update_time, version, activity_id, id) VALUES (?,?,?,?,?,?,?)"
                           : "UPDATE theme SET display_name=?, description=?, create_time=?, "
                             "update_time=?, version=? WHERE activity_id=? AND id=?";
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
  stmt.Bind(1, t.display_name())
      .Bind(2, t.description())
      .Bind(3, Micros(t.create_time()))
      .Bind(4, Micros(t.update_time()))
      .Bind(5, version)
      .Bind(6, activity)
      .Bind(7, id);
  return stmt.Run();
}

absl::Status ListThemeRows(Transaction& tx, const runtime::storage::KeysetPage& page,
                           const std::string& activity,
                           google::protobuf::RepeatedPtrField<v1::Theme>& items,
                           std::string* next_page_token) {
  return ListChildRows(tx, "theme", kColumns, page, activity, FromRow, items, next_page_token);
}

absl::StatusOr<ThemeUser> FindThemeUser(Transaction& tx, const std::string& activity,
                                        const std::string& id) {
  ASSIGN_OR_RETURN(bool response, TaggedIn(tx, "response", activity, id));
  if (response) return ThemeUser::kResponse;
  ASSIGN_OR_RETURN(bool decision, TaggedIn(tx, "decision", activity, id));
  return decision ? ThemeUser::kDecision : ThemeUser::kNone;
}

absl::Status DeleteThemeRows(Transaction& tx, const std::string& activity, const std::string& id) {
  {
    // Cells left at zero by moderation (a response re-tagged away from the theme).
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare("DELETE FROM response_count WHERE activity_id = ? AND n = 0 AND "
                                "((dimension = ? AND key = ?) OR "
                                "(dimension = ? AND key LIKE ?))"));
    stmt.Bind(1, activity)
        .Bind(2, kDimTheme)
        .Bind(3, id)
        .Bind(4, kDimThemeSentiment)
        .Bind(5, absl::StrCat(id, "/%"));  // "<theme>/<sentiment>"
    RETURN_IF_ERROR(stmt.Run());
  }
  return DeleteChildRow(tx, "theme", activity, id);
}

}  // namespace dorset::engagement
