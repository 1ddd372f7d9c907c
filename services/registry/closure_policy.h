// Who is authoritative for a practice's open/closed state, and the invariant that only a
// CLOSED practice has a successor. ODS owns every field it publishes (practice_fields.h
// OdsFields); Dorset owns locality, list size (from its own imports) and successor. A closure
// made through ClosePractice before ODS publishes it is local knowledge ahead of ODS: an
// EPRACCUR import does not undo it silently (see docs/registry.md, "Who owns which field").
#ifndef DORSET_SERVICES_REGISTRY_CLOSURE_POLICY_H_
#define DORSET_SERVICES_REGISTRY_CLOSURE_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "dorset/registry/v1/registry.pb.h"

namespace dorset::registry {

// The fields an EPRACCUR import may write: the ODS fields plus the closure state that follows
// from them (successor, closed_ahead_of_ods).
const std::vector<std::string>& EpraccurWrittenFields();

// Applies the authority rules to `updated` (the stored `existing` with the ODS fields of the
// file already copied in). A local closure ahead of ODS that the file contradicts is kept
// unless `override_local_closures`; either way the contradiction is reported in `report`.
void ReconcileClosure(const v1::Practice& existing, v1::Practice& updated,
                      bool override_local_closures, int line, v1::ImportReport& report);

// Makes `updated` consistent when it is no longer CLOSED: clears close date, successor and
// closed_ahead_of_ods (a reopened practice has none of them).
void ClearClosure(v1::Practice& updated);

// The change kind of a practice update from `existing` to `updated`.
v1::Change::Kind UpdateKind(const v1::Practice& existing, const v1::Practice& updated);

// The invariant every stored practice satisfies (checked by WriteTx::SavePractice, the one
// place every practice write goes through): a successor or a local closure only on a CLOSED
// practice. FAILED_PRECONDITION otherwise.
absl::Status CheckClosureInvariant(const v1::Practice& practice);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_CLOSURE_POLICY_H_
