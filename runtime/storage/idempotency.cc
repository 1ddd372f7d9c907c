#include "runtime/storage/idempotency.h"

#include <array>
#include <optional>
#include <utility>

#include "runtime/api/request_id.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/multi_row.h"

namespace dorset::runtime::storage {

absl::StatusOr<IdempotencyRecord> IdempotencyRecord::Prepare(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement find, tx.Prepare("SELECT method, principal, request_hash, reply FROM "
                                              "idempotency_record WHERE request_id = ?"));
  ASSIGN_OR_RETURN(Statement store,
                   tx.Prepare("INSERT INTO idempotency_record (request_id, method, principal, "
                              "request_hash, reply, create_micros) VALUES (?, ?, ?, ?, ?, ?)"));
  return IdempotencyRecord(tx, std::move(find), std::move(store));
}

absl::StatusOr<std::optional<std::string>> IdempotencyRecord::Match(const RequestKey& key,
                                                                    std::string_view method,
                                                                    std::string_view principal,
                                                                    std::string_view hash,
                                                                    std::string reply) {
  // Another method's or another caller's id is a different request by definition (and its
  // reply is not this caller's to see).
  if (method != key.method || principal != key.principal) return runtime::RequestIdReused();
  RETURN_IF_ERROR(runtime::CheckReplay(hash, key.request_hash));
  return std::optional<std::string>(std::move(reply));
}

absl::StatusOr<std::optional<std::string>> IdempotencyRecord::Find(const RequestKey& key) {
  if (key.request_id.empty()) return std::optional<std::string>();
  if (auto kept = kept_index_.find(key.request_id); kept != kept_index_.end()) {
    const Kept& k = kept_[kept->second];
    return Match(key, k.key.method, k.key.principal, k.key.request_hash, k.reply);
  }
  find_.Reset();
  find_.Bind(1, key.request_id);
  ASSIGN_OR_RETURN(bool row, find_.Step());
  if (!row) {
    find_.Reset();
    return std::optional<std::string>();
  }
  const std::string method = find_.Text(0);
  const std::string principal = find_.Text(1);
  const std::string stored_hash = find_.Text(2);
  std::string reply = find_.Blob(3);
  find_.Reset();
  return Match(key, method, principal, stored_hash, std::move(reply));
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

void IdempotencyRecord::StoreLater(const RequestKey& key, std::string reply, int64_t now_micros) {
  if (key.request_id.empty()) return;
  kept_index_.emplace(key.request_id, kept_.size());
  kept_.push_back(Kept{key, std::move(reply), now_micros});
}

absl::Status IdempotencyRecord::Flush() {
  static const MultiRowInsert kInsert(
      "INSERT INTO idempotency_record (request_id, method, principal, request_hash, reply, "
      "create_micros) VALUES ",
      6);
  std::array<std::optional<Statement>, MultiRowInsert::kInsertShapes> inserts;
  absl::Status written = kInsert.Run(
      kept_.size(),
      [&](size_t shape) -> absl::StatusOr<Statement*> {
        if (!inserts[shape].has_value()) {
          ASSIGN_OR_RETURN(inserts[shape], tx_->Prepare(kInsert.Sql(shape)));
        }
        return &*inserts[shape];
      },
      [this](Statement& insert, size_t row, int first) {
        const Kept& k = kept_[row];
        insert.Bind(first, k.key.request_id)
            .Bind(first + 1, k.key.method)
            .Bind(first + 2, k.key.principal)
            .Bind(first + 3, k.key.request_hash)
            .BindBlob(first + 4, k.reply)
            .Bind(first + 5, k.now_micros);
      });
  kept_.clear();
  kept_index_.clear();
  return written;
}

}  // namespace dorset::runtime::storage
