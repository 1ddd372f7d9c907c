// Early-return helpers for absl::Status / absl::StatusOr, so error paths read as one line
// instead of nested ifs (Abseil 20220623 on Debian ships neither macro).
//
//   RETURN_IF_ERROR(db.Exec("BEGIN"));
//   ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT 1"));
#ifndef DORSET_RUNTIME_STATUS_STATUS_MACROS_H_
#define DORSET_RUNTIME_STATUS_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define DORSET_STATUS_CONCAT_INNER_(a, b) a##b
#define DORSET_STATUS_CONCAT_(a, b) DORSET_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                                            \
  do {                                                                   \
    ::absl::Status dorset_status_ = (expr);                              \
    if (ABSL_PREDICT_FALSE(!dorset_status_.ok())) return dorset_status_; \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK, otherwise
// moves the value into `lhs` (which may be a declaration such as `auto x`).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  DORSET_ASSIGN_OR_RETURN_IMPL_(DORSET_STATUS_CONCAT_(dorset_statusor_, __LINE__), lhs, rexpr)

#define DORSET_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)         \
  auto statusor = (rexpr);                                          \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) return statusor.status(); \
  lhs = std::move(statusor).value()

#endif  // DORSET_RUNTIME_STATUS_STATUS_MACROS_H_
