#include "runtime/storage/idempotency.h"

#include "runtime/api/request_id.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {

absl::StatusOr<IdempotencyRecord> IdempotencyRecord::Prepare(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement find, tx.Prepare("SELECT method, principal, request_hash, reply FROM "
                                              "idempotency_record WHERE request_id = ?"));
  ASSIGN_OR_RETURN(Statement store,
                   tx.Prepare("INSERT INTO idempotency_record (request_id, method, principal, "
                              "request_hash, reply, create_micros) VALUES (?, ?, ?, ?, ?, ?)"));
  return IdempotencyRecord(std::move(find), std::move(store));
}

absl::StatusOr<std::optional<std::string>> IdempotencyRecord::Find(const RequestKey& key) {
  if (key.request_id.empty()) return std::optional<std::string>();
  find_.Reset();
  find_.Bind(1, key.request_id);
  ASSIGN_OR_RETURN(bool row, find_.Step());
  if (!row) {
    find_.Reset();
    return std::optional<std::string>();
  }
  const bool same_call = find_.Text(0) == key.method && find_.Text(1) == key.principal;
  const std::string stored_hash = find_.Text(2);
  std::string reply = find_.Blob(3);
  find_.Reset();
  // Another method's or another caller's id is a different request by definition (and its
  // reply is not this caller's to see).
  if (!same_call) return runtime::RequestIdReused();
  RETURN_IF_ERROR(runtime::CheckReplay(stored_hash, key.request_hash));
  return std::optional<std::string>(std::move(reply));
}

absl::Status IdempotencyRecord::Store(const RequestKey& key, std::string_view reply,
                                      int64_t now_micros) {
  if (key.request_id.empty()) return absl::OkStatus();
  store_.Reset();
  store_.Bind(1, key.request_id).Bind(2, key.method).Bind(3, key.principal);
  store_.Bind(4, key.request_hash).BindBlob(5, reply).Bind(6, now_micros);
  absl::Status status = store_.Run();
  store_.Reset();
  return status;
}

}  // namespace dorset::runtime::storage
