// The registry store's revisions of a practice (store.h): each from the change that made it,
// newest first, kept apart from the pages of practices (practice_pages.cc).
#include <string>
#include <utility>
#include <vector>

#include "runtime/logging/log.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "services/registry/storage/storage_rows.h"
#include "services/registry/storage/store.h"
#include "services/registry/stored_text.h"

namespace dorset::registry {

using runtime::storage::Statement;
using runtime::storage::Transaction;
using storage_rows::FromMicros;
using storage_rows::TextColumn;

absl::StatusOr<std::vector<v1::PracticeRevision>> Store::ListRevisions(const std::string& code,
                                                                       int64_t before_revision,
                                                                       int limit) {
  std::vector<v1::PracticeRevision> revisions;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    revisions.clear();
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx.Prepare("SELECT r.revision, r.seq, c.kind, c.payload, c.commit_time, c.actor "
                   "FROM practice_revision r JOIN change c ON c.seq = r.seq "
                   "WHERE r.ods_code = ? AND r.revision < ? ORDER BY r.revision DESC "
                   "LIMIT ?"));
    stmt.Bind(1, code).Bind(2, before_revision).Bind(3, static_cast<int64_t>(limit));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      v1::PracticeRevision& r = revisions.emplace_back();
      r.set_revision(stmt.Int(0));
      r.set_sequence(stmt.Int(1));
      r.set_kind(static_cast<v1::Change::Kind>(stmt.Int(2)));
      v1::Change change;
      if (ParseStored(stmt.Blob(3), change)) {
        *r.mutable_practice() = std::move(*change.mutable_practice());
      } else {
        runtime::log::Error("stored change unreadable; revision listed without its state",
                            {{"sequence", stmt.Int(1)}});
      }
      *r.mutable_create_time() = FromMicros(stmt.Int(4));
      r.set_actor(TextColumn(stmt, 5));
    }
    return absl::OkStatus();
  }));
  return revisions;
}

}  // namespace dorset::registry
