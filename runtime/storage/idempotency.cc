#include "runtime/storage/idempotency.h"

#include <array>
#include <optional>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/request_id.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/multi_row.h"

namespace dorset::runtime::storage {
namespace {

constexpr char kColumns[] = "request_id, method, principal, request_hash, reply";
constexpr char kSeenAgainPayload[] = "type.dorset.dev/runtime.storage.RequestSeenAgain";

// Runs `each` on `ids` cut into IN lists of 64, 32, ..., 1 ids: `statements[i]` holds the
// statement `head` "?, ?, ..." `tail` of 64 >> i placeholders, prepared on its first use, so a
// group of any size is read with a few statements of a few shapes (each prepared once per
// record). `each` gets the statement bound to one list; the first failure stops the run.
absl::Status ForEachInList(Transaction& tx, InListStatements& statements, std::string_view head,
                           std::string_view tail, std::span<const std::string* const> ids,
                           absl::FunctionRef<absl::Status(Statement&)> each) {
  constexpr size_t kMostIds = size_t{64};
  static_assert((kMostIds >> (std::tuple_size_v<InListStatements> - 1)) == 1);
  size_t done = 0;
  while (done < ids.size()) {
    size_t shape = 0;
    while ((kMostIds >> shape) > ids.size() - done) ++shape;
    const size_t count = kMostIds >> shape;
    if (!statements[shape].has_value()) {
      std::string sql = std::string(head) + "?";
      for (size_t i = 1; i < count; ++i) sql += ", ?";
      sql += tail;
      ASSIGN_OR_RETURN(statements[shape], tx.Prepare(sql));
    }
    Statement& statement = *statements[shape];
    statement.Reset();
    for (size_t i = 0; i < count; ++i) statement.Bind(static_cast<int>(i + 1), *ids[done + i]);
    RETURN_IF_ERROR(each(statement));
    done += count;
  }
  return absl::OkStatus();
}
}  // namespace

absl::Status RequestSeenAgain() {
  absl::Status status = absl::AbortedError(
      "a request taken for new has a record already; the group runs again with lookups");
  status.SetPayload(kSeenAgainPayload, absl::Cord());
  return status;
}

bool IsRequestSeenAgain(const absl::Status& status) {
  return status.code() == absl::StatusCode::kAborted &&
         status.GetPayload(kSeenAgainPayload).has_value();
}

absl::StatusOr<IdempotencyRecord> IdempotencyRecord::Prepare(Transaction& tx, Lookups lookups) {
  RequestLogIndex* log = tx.request_log_index();
  if (log != nullptr && !tx.request_log_caught_up()) {
    RETURN_IF_ERROR(CatchUpRequestLog(tx, *log));
    tx.set_request_log_caught_up();
  }
  ASSIGN_OR_RETURN(Statement find, tx.Prepare("SELECT method, principal, request_hash, reply FROM "
                                              "idempotency_record WHERE request_id = ?"));
  ASSIGN_OR_RETURN(Statement store,
                   tx.Prepare(absl::StrCat(
                       "INSERT INTO ", log != nullptr ? "idempotency_log" : "idempotency_record",
                       " (request_id, method, principal, request_hash, reply, create_micros) "
                       "VALUES (?, ?, ?, ?, ?, ?)")));
  // Deferred only on SQLite, whose one writer keeps any other record out until this commit.
  const bool deferred =
      lookups == Lookups::kDeferred && tx.defer_request_lookups() && tx.engine() == Engine::kSqlite;
  return IdempotencyRecord(tx, std::move(find), std::move(store), deferred);
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
  RETURN_IF_ERROR(TakePrefetched());
  if (auto kept = kept_index_.find(key.request_id); kept != kept_index_.end()) {
    const Kept& k = kept_[kept->second];
    return Match(key, k.key->method, k.key->principal, k.key->request_hash, k.reply);
  }
  if (auto fetched = fetched_.find(key.request_id); fetched != fetched_.end()) {
    if (!fetched->second.has_value()) return std::optional<std::string>();
    const Stored& s = *fetched->second;
    return Match(key, s.method, s.principal, s.request_hash, s.reply);
  }
  if (log_ != nullptr) {  // SQLite: a record of the log is found there, a retry's usually
    ASSIGN_OR_RETURN(std::optional<Stored> logged, ReadRequestLog(*tx_, *log_, key.request_id));
    if (logged.has_value()) {
      return Match(key, logged->method, logged->principal, logged->request_hash,
                   std::move(logged->reply));
    }
  }
  if (deferred_) {  // taken for new; Flush finds out (CheckUnlooked, or the INSERT's key)
    unlooked_.push_back(key.request_id);
    tx_->NoteLookupDeferred();
    return std::optional<std::string>();
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

absl::Status IdempotencyRecord::Prefetch(std::span<const std::string> request_ids) {
  RETURN_IF_ERROR(SendPrefetch(request_ids));
  return TakePrefetched();
}

absl::Status IdempotencyRecord::SendPrefetch(std::span<const std::string> request_ids) {
  RETURN_IF_ERROR(TakePrefetched());  // one read ahead at a time
  std::vector<const std::string*> ask;
  for (const std::string& id : request_ids) {
    if (id.empty() || kept_index_.contains(id)) continue;
    if (fetched_.emplace(id, std::nullopt).second) ask.push_back(&id);
  }
  const auto read = [&]() -> absl::Status {
    if (ask.empty()) return absl::OkStatus();
    if (tx_->engine() == Engine::kPostgres) {
      // One statement for every id, bound as one array, and one index lookup per id. An IN
      // list is planned once per connection and that plan kept (prepared statements): planned
      // while the table was small it was a sequential scan, measured 1.5-2.4 ms a call over a
      // few thousand records; each id's own `request_id = ?` under LIMIT is an index probe
      // whatever the table's size was then.
      if (!fetch_[0].has_value()) {
        ASSIGN_OR_RETURN(
            fetch_[0],
            tx_->Prepare(absl::StrCat(
                "SELECT r.request_id, r.method, r.principal, r.request_hash, "
                "r.reply FROM unnest(?::text[]) AS k(id) CROSS JOIN LATERAL (SELECT ",
                kColumns, " FROM idempotency_record WHERE request_id = k.id LIMIT 1) r")));
      }
      std::string ids = "{";
      for (const std::string* id : ask) {
        if (ids.size() > 1) ids += ',';
        AppendPgArrayElement(ids, *id);
      }
      ids += '}';
      Statement& fetch = *fetch_[0];
      fetch.Reset();
      fetch.Bind(1, ids);
      // Its rows are taken by the next use of the record (TakePrefetched).
      RETURN_IF_ERROR(fetch.SendAhead());
      for (const std::string* id : ask) ahead_ids_.push_back(*id);
      return absl::OkStatus();
    }
    if (log_ != nullptr) {  // the ids the log holds are read there, the rest from the table
      std::vector<const std::string*> rest;
      for (const std::string* id : ask) {
        ASSIGN_OR_RETURN(std::optional<Stored> logged, ReadRequestLog(*tx_, *log_, *id));
        if (logged.has_value()) {
          fetched_[*id] = *std::move(logged);
        } else {
          rest.push_back(id);
        }
      }
      ask = std::move(rest);
    }
    // Built once: the statements are prepared once per record, but this runs for every group.
    static const std::string kHead =
        absl::StrCat("SELECT ", kColumns, " FROM idempotency_record WHERE request_id IN (");
    return ForEachInList(*tx_, fetch_, kHead, ")", ask,
                         [this](Statement& fetch) { return Take(fetch); });
  };
  absl::Status status = read();
  if (!status.ok()) {
    for (const std::string* id : ask) fetched_.erase(*id);  // not known: Find reads them
  }
  return status;
}

absl::Status IdempotencyRecord::TakePrefetched() {
  if (ahead_ids_.empty()) return absl::OkStatus();
  absl::Status status = Take(*fetch_[0]);
  if (!status.ok()) {
    for (const std::string& id : ahead_ids_) fetched_.erase(id);  // not known: Find reads them
  }
  ahead_ids_.clear();
  return status;
}

absl::Status IdempotencyRecord::Take(Statement& fetch) {
  while (true) {
    absl::StatusOr<bool> row = fetch.Step();
    if (!row.ok()) {
      fetch.Reset();
      return row.status();
    }
    if (!*row) break;
    fetched_[fetch.Text(0)] = Stored{.method = fetch.Text(1),
                                     .principal = fetch.Text(2),
                                     .request_hash = fetch.Text(3),
                                     .reply = fetch.Blob(4)};
  }
  fetch.Reset();
  return absl::OkStatus();
}

absl::Status IdempotencyRecord::Store(const RequestKey& key, std::string_view reply,
                                      int64_t now_micros) {
  if (key.request_id.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(TakePrefetched());
  fetched_.erase(key.request_id);  // Find reads it back from the table
  if (deferred_) std::erase(unlooked_, key.request_id);
  // The record table's key refuses a stored id; the log has no such key, so it is checked here
  // (a second record for an id is never written, whether or not Find was asked first).
  if (log_ != nullptr) {
    const std::string* id = &key.request_id;
    RETURN_IF_ERROR(CheckNoneStored(std::span<const std::string* const>(&id, 1)));
  }
  store_.Reset();
  store_.Bind(1, key.request_id).Bind(2, key.method).Bind(3, key.principal);
  store_.Bind(4, key.request_hash).BindBlob(5, reply).Bind(6, now_micros);
  absl::Status status = store_.Run();
  store_.Reset();
  if (status.ok() && log_ != nullptr) NoteRequestLogged(*log_, key.request_id);
  if (deferred_ && status.code() == absl::StatusCode::kAlreadyExists) return RequestSeenAgain();
  return status;
}

absl::Status IdempotencyRecord::CheckUnlooked() {
  // Requests Find took for new that were not kept (refused, or answered without a record): a
  // stored record would have changed their answer. Rare on the hot path (refusals only). The
  // kept ones: on PostgreSQL the INSERT's key checks them; on SQLite they go to the log, which
  // has no such key, so the record table is read for them here (Find looked in the log).
  std::vector<const std::string*> ids;
  for (const std::string& id : unlooked_) {
    if (!kept_index_.contains(id)) ids.push_back(&id);
  }
  if (log_ != nullptr) {
    for (const Kept& k : kept_) ids.push_back(&k.key->request_id);
  }
  absl::Status status = CheckNoneStored(ids);
  unlooked_.clear();
  return status;
}

absl::Status IdempotencyRecord::StoredAlready() const {
  // Deferred lookups: the group runs again with them. Otherwise as the record table's key
  // refuses a second record (a broken caller, or a lost race: never a second write).
  return deferred_ ? RequestSeenAgain()
                   : absl::AlreadyExistsError("the request_id has a stored record already");
}

absl::Status IdempotencyRecord::CheckNoneStored(std::span<const std::string* const> ids) {
  if (log_ != nullptr) {
    for (const std::string* id : ids) {  // a hash lookup each; a read only for a logged id
      ASSIGN_OR_RETURN(std::optional<Stored> logged, ReadRequestLog(*tx_, *log_, *id));
      if (logged.has_value()) return StoredAlready();
    }
  }
  return ForEachInList(*tx_, check_, "SELECT 1 FROM idempotency_record WHERE request_id IN (",
                       ") LIMIT 1", ids, [this](Statement& check) -> absl::Status {
                         absl::StatusOr<bool> row = check.Step();
                         check.Reset();
                         if (!row.ok()) return row.status();
                         return *row ? StoredAlready() : absl::OkStatus();
                       });
}

void IdempotencyRecord::StoreLater(const RequestKey& key, std::string reply, int64_t now_micros) {
  if (key.request_id.empty()) return;
  kept_index_.emplace(key.request_id, kept_.size());
  kept_.push_back(Kept{&key, std::move(reply), now_micros});
}

void IdempotencyRecord::StoreLater(RequestKey&& key, std::string reply, int64_t now_micros) {
  if (key.request_id.empty()) return;
  StoreLater(*owned_keys_.emplace_back(std::make_unique<RequestKey>(std::move(key))),
             std::move(reply), now_micros);
}

absl::Status IdempotencyRecord::Write(bool send) {
  static const MultiRowInsert kInsert(
      "INSERT INTO idempotency_record (request_id, method, principal, request_hash, reply, "
      "create_micros) VALUES ",
      6, "", {"text", "text", "text", "text", "bytea", "bigint"});
  static const MultiRowInsert kLogInsert(
      "INSERT INTO idempotency_log (request_id, method, principal, request_hash, reply, "
      "create_micros) VALUES ",
      6, "", {"text", "text", "text", "text", "bytea", "bigint"});
  RETURN_IF_ERROR(TakePrefetched());  // what it read is replaced below
  if (!inserts_.has_value()) inserts_.emplace(log_ != nullptr ? kLogInsert : kInsert, *tx_);
  if (log_ != nullptr && !deferred_) {  // as Store: no key in the log refuses a stored id
    std::vector<const std::string*> ids;
    for (const Kept& k : kept_) ids.push_back(&k.key->request_id);
    if (absl::Status checked = CheckNoneStored(ids); !checked.ok()) {
      kept_.clear();
      kept_index_.clear();
      owned_keys_.clear();
      return checked;
    }
  }
  if (deferred_) {
    if (absl::Status checked = CheckUnlooked(); !checked.ok()) {
      kept_.clear();
      kept_index_.clear();
      owned_keys_.clear();
      return checked;
    }
  }
  const auto bind = [this](Statement& insert, size_t row, int first) {
    const Kept& k = kept_[row];
    // kept_ is unchanged until the statement has run (or been sent) and been reset.
    insert.BindKept(first, k.key->request_id)
        .BindKept(first + 1, k.key->method)
        .BindKept(first + 2, k.key->principal)
        .BindKept(first + 3, k.key->request_hash)
        .BindBlobKept(first + 4, k.reply)
        .Bind(first + 5, k.now_micros);
  };
  absl::Status written =
      send ? inserts_->Send(kept_.size(), bind) : inserts_->Run(kept_.size(), bind);
  // Written (or the transaction fails): what Prefetch read of these ids is out of date.
  for (const Kept& k : kept_) {
    if (written.ok() && log_ != nullptr) NoteRequestLogged(*log_, k.key->request_id);
    if (auto fetched = fetched_.find(k.key->request_id); fetched != fetched_.end()) {
      fetched->second = Stored{.method = k.key->method,
                               .principal = k.key->principal,
                               .request_hash = k.key->request_hash,
                               .reply = k.reply};
    }
  }
  kept_.clear();
  kept_index_.clear();
  owned_keys_.clear();
  // Deferred lookups: a kept request whose id is stored already (its primary key).
  if (deferred_ && written.code() == absl::StatusCode::kAlreadyExists) return RequestSeenAgain();
  return written;
}

}  // namespace dorset::runtime::storage
