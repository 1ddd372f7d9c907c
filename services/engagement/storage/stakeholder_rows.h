// The stakeholder table: a Stakeholder in and out (etag from its version column), its keyset
// list and the erasure's overwrite. Every function runs inside the caller's transaction.
#ifndef DORSET_SERVICES_ENGAGEMENT_STORAGE_STAKEHOLDER_ROWS_H_
#define DORSET_SERVICES_ENGAGEMENT_STORAGE_STAKEHOLDER_ROWS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "runtime/storage/database.h"
#include "runtime/storage/keyset_page.h"

namespace dorset::engagement {

// NOT_FOUND (Stakeholder) when there is no such row.
absl::StatusOr<v1::Stakeholder> LoadStakeholderRow(runtime::storage::Transaction& tx,
                                                   const std::string& id);
// Inserts (ALREADY_EXISTS for a taken id) or updates the row to `s` at `version`.
absl::Status SaveStakeholderRow(runtime::storage::Transaction& tx, const std::string& id,
                                const v1::Stakeholder& s, int64_t version, bool insert);
// One page of stakeholders in id order, of `kind` (UNSPECIFIED: every kind).
absl::Status ListStakeholderRows(runtime::storage::Transaction& tx,
                                 const runtime::storage::KeysetPage& page, v1::StakeholderKind kind,
                                 google::protobuf::RepeatedPtrField<v1::Stakeholder>& items,
                                 std::string* next_page_token);
// Overwrites the stakeholder's personal data and unlinks (and blanks the text of) their
// responses; returns how many responses were anonymised.
absl::StatusOr<int64_t> EraseStakeholderRows(runtime::storage::Transaction& tx,
                                             const std::string& id, int64_t now);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_STORAGE_STAKEHOLDER_ROWS_H_
