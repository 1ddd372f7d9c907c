// What the engagement row modules share (internal to services/engagement/storage): times as
// microseconds, and the load / exists / list / delete of a row keyed by its id (activity,
// stakeholder) or by its activity and id (theme, decision), with the table and columns given.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_ROWS_COMMON_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_ROWS_COMMON_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/timestamp.pb.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "runtime/storage/keyset_page.h"

namespace dorset::engagement {

inline int64_t Micros(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}
// NULL for a timestamp that is not set.
inline std::optional<int64_t> OptionalMicros(bool has, const google::protobuf::Timestamp& ts) {
  if (!has) return std::nullopt;
  return Micros(ts);
}

// The row `id` of `table` (a table keyed by `id`) as a T, or NOT_FOUND (`type`, `name`).
template <typename T, typename FromRow>
absl::StatusOr<T> LoadRow(runtime::storage::Transaction& tx, const char* table, const char* columns,
                          const std::string& id, FromRow from_row, const char* type,
                          const std::string& name) {
  ASSIGN_OR_RETURN(runtime::storage::Statement stmt,
                   tx.Prepare(absl::StrCat("SELECT ", columns, " FROM ", table, " WHERE id = ?")));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound(type, name);
  return from_row(stmt);
}

// The same for a table keyed by (activity_id, id).
template <typename T, typename FromRow>
absl::StatusOr<T> LoadChildRow(runtime::storage::Transaction& tx, const char* table,
                               const char* columns, const std::string& activity,
                               const std::string& id, FromRow from_row, const char* type,
                               const std::string& name) {
  ASSIGN_OR_RETURN(runtime::storage::Statement stmt,
                   tx.Prepare(absl::StrCat("SELECT ", columns, " FROM ", table,
                                           " WHERE activity_id = ? AND id = ?")));
  stmt.Bind(1, activity).Bind(2, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound(type, name);
  return from_row(stmt);
}

inline absl::StatusOr<bool> ChildRowExists(runtime::storage::Transaction& tx, const char* table,
                                           const std::string& activity, const std::string& id) {
  ASSIGN_OR_RETURN(
      runtime::storage::Statement stmt,
      tx.Prepare(absl::StrCat("SELECT 1 FROM ", table, " WHERE activity_id = ? AND id = ?")));
  stmt.Bind(1, activity).Bind(2, id);
  return stmt.Step();
}

inline absl::Status DeleteChildRow(runtime::storage::Transaction& tx, const char* table,
                                   const std::string& activity, const std::string& id) {
  ASSIGN_OR_RETURN(
      runtime::storage::Statement stmt,
      tx.Prepare(absl::StrCat("DELETE FROM ", table, " WHERE activity_id = ? AND id = ?")));
  stmt.Bind(1, activity).Bind(2, id);
  return stmt.Run();
}

// One keyset page of the activity's rows of `table` in id order (column 1 is the id).
template <typename T, typename FromRow>
absl::Status ListChildRows(runtime::storage::Transaction& tx, const char* table,
                           const char* columns, const runtime::storage::KeysetPage& page,
                           const std::string& activity, FromRow from_row,
                           google::protobuf::RepeatedPtrField<T>& items,
                           std::string* next_page_token) {
  ASSIGN_OR_RETURN(
      runtime::storage::Statement stmt,
      tx.Prepare(absl::StrCat("SELECT ", columns, " FROM ", table,
                              " WHERE activity_id = ? AND id > ? ORDER BY id LIMIT ?")));
  stmt.Bind(1, activity).Bind(2, page.after()).Bind(3, page.fetch_limit());
  return page.Collect(
      stmt, from_row, [](const runtime::storage::Statement& row) { return row.Text(1); }, items,
      next_page_token);
}

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_ROWS_COMMON_H_
