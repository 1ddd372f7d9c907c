#include "services/registry/closure_policy.h"

#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "services/registry/practice_fields.h"

namespace dorset::registry {

const std::vector<std::string>& EpraccurWrittenFields() {
  static const auto* fields = [] {
    auto* f = new std::vector<std::string>(OdsFields());
    f->push_back("successor");
    f->push_back("closed_ahead_of_ods");
    return f;
  }();
  return *fields;
}

void ClearClosure(v1::Practice& updated) {
  updated.clear_close_date();
  updated.clear_successor();
  updated.set_closed_ahead_of_ods(false);
}

void ReconcileClosure(const v1::Practice& existing, v1::Practice& updated,
                      bool override_local_closures, int line, v1::ImportReport& report) {
  if (updated.status() == v1::Practice::STATUS_CLOSED) {
    // ODS publishes the closure: its close date stands, the local successor stays.
    updated.set_closed_ahead_of_ods(false);
    return;
  }
  if (existing.closed_ahead_of_ods()) {
    report.set_conflicted(report.conflicted() + 1);
    v1::ImportReport::Conflict* conflict = report.add_conflicts();
    conflict->set_line(line);
    conflict->set_ods_code(existing.ods_code());
    conflict->set_ods_status(updated.status());
    if (override_local_closures) {
      ClearClosure(updated);
      conflict->set_reason("closed locally but open in ODS: reopened (override_local_closures)");
    } else {
      updated.set_status(existing.status());
      updated.set_close_date(existing.close_date());
      conflict->set_reason(absl::StrCat("closed locally on ", existing.close_date(),
                                        " but open in ODS: the local closure is kept (import with "
                                        "override_local_closures to reopen)"));
    }
    conflict->set_kept_status(updated.status());
    return;
  }
  // ODS reopened a practice it had closed (or it was never closed): no successor to keep.
  updated.clear_successor();
}

v1::Change::Kind UpdateKind(const v1::Practice& existing, const v1::Practice& updated) {
  const bool was_closed = existing.status() == v1::Practice::STATUS_CLOSED;
  const bool is_closed = updated.status() == v1::Practice::STATUS_CLOSED;
  if (!was_closed && is_closed) return v1::Change::KIND_PRACTICE_CLOSED;
  if (was_closed && !is_closed) return v1::Change::KIND_PRACTICE_REOPENED;
  return v1::Change::KIND_PRACTICE_UPDATED;
}

absl::Status CheckClosureInvariant(const v1::Practice& practice) {
  if (practice.status() == v1::Practice::STATUS_CLOSED) return absl::OkStatus();
  if (!practice.successor().empty()) {
    return runtime::FailedPrecondition("STATE", absl::StrCat("practices/", practice.ods_code()),
                                       "only a CLOSED practice can have a successor");
  }
  if (practice.closed_ahead_of_ods()) {
    return runtime::FailedPrecondition("STATE", absl::StrCat("practices/", practice.ods_code()),
                                       "only a CLOSED practice can be closed ahead of ODS");
  }
  return absl::OkStatus();
}

}  // namespace dorset::registry
