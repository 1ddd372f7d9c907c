// A prepared statement of the storage lane, the same on SQLite and PostgreSQL: SQL text with `?`
// placeholders, typed Bind by 1-based index, Step through the rows, typed columns from 0. Its
// shape follows runtime/sqlite's Statement so a service moves over line by line.
//
//   ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT name, size FROM practice WHERE code = ?"));
//   stmt.Bind(1, code);
//   ASSIGN_OR_RETURN(bool row, stmt.Step());
//   if (row) name = stmt.Text(0), size = stmt.OptionalInt(1);
#ifndef DORSET_RUNTIME_STORAGE_STATEMENT_H_
#define DORSET_RUNTIME_STORAGE_STATEMENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/storage/engine.h"

namespace dorset::runtime::storage {

class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementBackend> backend) : backend_(std::move(backend)) {}
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;

  Statement& Bind(int index, int64_t value) {
    backend_->BindInt(index, value);
    return *this;
  }
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, std::string_view text) {
    backend_->BindText(index, text);
    return *this;
  }
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, const std::string& text) {
    return Bind(index, std::string_view(text));
  }
  Statement& BindBlob(int index, std::string_view bytes) {
    backend_->BindBlob(index, bytes);
    return *this;
  }
  // As Bind(index, text) and BindBlob, for bytes the caller keeps unchanged until Reset (or the
  // statement's end): bound without a copy where the engine can (SQLite). For rows a statement
  // writes from memory that outlives it (a multi-row INSERT's kept rows).
  Statement& BindKept(int index, std::string_view text) {
    backend_->BindTextKept(index, text);
    return *this;
  }
  Statement& BindBlobKept(int index, std::string_view bytes) {
    backend_->BindBlobKept(index, bytes);
    return *this;
  }
  Statement& BindNull(int index) {
    backend_->BindNull(index);
    return *this;
  }
  // Binds NULL when `value` is empty.
  Statement& Bind(int index, const std::optional<int64_t>& value) {
    return value ? Bind(index, *value) : BindNull(index);
  }
  Statement& Bind(int index, const std::optional<std::string>& value) {
    return value ? Bind(index, std::string_view(*value)) : BindNull(index);
  }

  // Advances: true when a row is ready, false when done. A unique or primary key violation is
  // ALREADY_EXISTS, another constraint FAILED_PRECONDITION, a lost connection UNAVAILABLE, a
  // full disk RESOURCE_EXHAUSTED.
  absl::StatusOr<bool> Step() { return backend_->Step(); }
  // Runs a statement that returns no rows (or ignores them).
  absl::Status Run();
  // Run, possibly later: on PostgreSQL the statement is sent in a pipeline and the caller goes on
  // while the server works on it (a bulk write's CPU then overlaps the database's); its failure
  // is returned by the transaction's next statement, Exec or commit, which then does not run.
  // Changes() is not known after it. On SQLite the same as Run().
  absl::Status Send() { return backend_->Send(); }
  // A read sent now and its rows read later (issue 16): on PostgreSQL the statement goes into
  // the connection's pipeline at once and its result is kept for its first Step, which waits
  // for it only then, so reads that a transaction knows it will need share one round trip (with
  // BEGIN, when it is the first). Until that Step, the transaction must not change what it
  // reads. A failure is returned by that Step, or by whichever statement reads the pipeline
  // first (the server skips the rest of it). Reset drops a result not taken. On SQLite nothing
  // happens until the Step, which runs it.
  absl::Status SendAhead() { return backend_->SendAhead(); }
  // Clears bindings and rewinds, so the statement can run again.
  void Reset() { backend_->Reset(); }
  // Rows inserted, updated or deleted by the last run.
  int64_t Changes() const { return backend_->Changes(); }

  bool IsNull(int column) const { return backend_->IsNull(column); }
  int64_t Int(int column) const { return backend_->Int(column); }
  std::string Text(int column) const { return backend_->Text(column); }
  std::optional<int64_t> OptionalInt(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Int(column);
  }
  std::optional<std::string> OptionalText(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Text(column);
  }
  std::string Blob(int column) const { return backend_->Blob(column); }

 private:
  std::unique_ptr<StatementBackend> backend_;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_STATEMENT_H_
