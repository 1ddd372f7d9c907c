#include "runtime/storage/statement.h"

namespace dorset::runtime::storage {

absl::Status Statement::Run() {
  // Drain every row, so a statement with RETURNING also completes on SQLite.
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

std::string_view EngineName(Engine engine) {
  return engine == Engine::kSqlite ? "sqlite" : "postgres";
}

}  // namespace dorset::runtime::storage
