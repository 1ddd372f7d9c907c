#include "runtime/storage/postgres/sqlstate.h"

#include "absl/strings/str_cat.h"
#include "runtime/base/string_view.h"

namespace dorset::runtime::storage {

bool IsRetryableSqlState(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";
}

absl::Status StatusFromSqlState(std::string_view sqlstate, std::string_view message) {
  const std::string text = absl::StrCat(ToAbsl(message), " (SQLSTATE ", ToAbsl(sqlstate), ")");
  const std::string_view cls = sqlstate.substr(0, 2);
  if (sqlstate == "23505") return absl::AlreadyExistsError(text);
  if (cls == "23") return absl::FailedPreconditionError(text);
  if (IsRetryableSqlState(sqlstate)) return absl::AbortedError(text);
  if (cls == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" ||
      sqlstate == "58030") {
    return absl::UnavailableError(text);
  }
  if (cls == "53") return absl::ResourceExhaustedError(text);
  return absl::InternalError(text);
}

}  // namespace dorset::runtime::storage
