// The storage lane's PostgreSQL engine over libpq: a shared pool of connections, statements
// prepared once per connection (the `?` placeholders rewritten to $n), writes SERIALIZABLE and
// run again on serialization failure or deadlock, reads REPEATABLE READ READ ONLY, migrations
// under a transaction-scoped advisory lock. BEGIN travels with a transaction's first statement
// in one pipeline (PostgresOptions::pipeline_begin). A connection that fails is discarded; the pool
// opens a new one on next use, with backoff while the server is away.
//
//   PostgresOptions options{.connections = 8, .password = *ReadPasswordFile(file)};
//   auto connector = std::make_unique<PostgresConnector>("postgres://dorset@db:5432/finance",
//                                                        options);
//   ASSIGN_OR_RETURN(auto db, Database::Open(std::move(connector), database_options));
#ifndef DORSET_RUNTIME_STORAGE_POSTGRES_POSTGRES_ENGINE_H_
#define DORSET_RUNTIME_STORAGE_POSTGRES_POSTGRES_ENGINE_H_

#include <memory>
#include <string>

#include "runtime/storage/engine.h"

namespace dorset::runtime::storage {

struct PostgresOptions {
  int connections = 8;
  std::string password;       // from database_password_file; empty = none (trust, peer, .pgpass)
  int connect_timeout_s = 5;  // unless the URI says connect_timeout
  // Read and write transactions send their BEGIN with their first statement in one libpq
  // pipeline (one round trip instead of two). Off: BEGIN is a round trip of its own, as before
  // (DORSET_DATABASE_PIPELINE=off; bench/README.md has the measurement).
  bool pipeline_begin = true;
};

class PostgresConnector : public Connector {
 public:
  // `uri` is a libpq URI without a password (database_url.h checks that).
  PostgresConnector(std::string uri, PostgresOptions options)
      : uri_(std::move(uri)), options_(std::move(options)) {}
  Engine engine() const override { return Engine::kPostgres; }
  PoolShape pool_shape() const override { return {options_.connections, 0, true}; }
  absl::StatusOr<std::unique_ptr<Connection>> Connect(bool read_only) override;
  std::string Describe() const override { return uri_; }

 private:
  std::string uri_;
  PostgresOptions options_;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_POSTGRES_POSTGRES_ENGINE_H_
