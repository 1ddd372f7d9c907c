// A numbered schema step of the storage lane. Each service keeps its steps as NNNN_name.sql
// files per engine; dorset_migrations() (cmake/DorsetMigrations.cmake) compiles a folder of them
// into an array, and Database::Open applies the ones a database lacks (migrations.cc).
//
//   # CMakeLists.txt
//   dorset_migrations(finance_migrations NAME FinanceMigrations DIR migrations)
//   // C++
//   #include "finance_migrations.h"  (generated)
//   options.migrations = dorset::migrations::FinanceMigrations(connector->engine());
#ifndef DORSET_RUNTIME_STORAGE_MIGRATION_H_
#define DORSET_RUNTIME_STORAGE_MIGRATION_H_

#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace dorset::runtime::storage {

// Versions start at 1 and increase by one.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// Checks that `migrations` are numbered 1, 2, 3... (INTERNAL otherwise: a build mistake).
absl::Status CheckSequence(std::span<const Migration> migrations);

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_MIGRATION_H_
