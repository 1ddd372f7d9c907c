// The audit trail's schema and opening (AuditLog, audit_log.h): the audit_event table's steps on
// SQLite (audit.db in the data directory) and on PostgreSQL (the service's shared database), the
// Open that picks one from the service's `database` setting, and the log's metrics.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "runtime/api/page_token.h"
#include "runtime/audit/audit_log.h"
#include "runtime/logging/log.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database_url.h"
#include "runtime/storage/open.h"

namespace dorset::runtime {
namespace {

constexpr sqlite::Migration kMigrations[] = {
    {1, R"sql(
      CREATE TABLE audit_event(
        sequence   INTEGER PRIMARY KEY AUTOINCREMENT,
        time_us    INTEGER NOT NULL,
        principal  TEXT NOT NULL,
        method     TEXT NOT NULL,
        resource   TEXT NOT NULL,
        action     TEXT NOT NULL,
        request_id TEXT NOT NULL,
        outcome    TEXT NOT NULL);
      CREATE INDEX audit_event_principal ON audit_event(principal, sequence);
      CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
      CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    )sql"},
    // Per store with an audit outbox (audit_outbox.h): the highest outbox id moved into this
    // trail, written in the same transaction as the events, so a row is moved exactly once.
    {2, R"sql(
      CREATE TABLE audit_outbox_drained(
        source  TEXT PRIMARY KEY,
        last_id INTEGER NOT NULL);
    )sql"},
};

// The same table on PostgreSQL, shared by every replica of the service (in the service's own
// database, with its own steps table so the service's numbering is untouched). The sequence is
// an identity column; appends are queued (kAppendQueue) so it is given out in commit order.
constexpr storage::Migration kPostgresMigrations[] = {
    {1, "audit_event", R"sql(
      CREATE TABLE audit_event(
        sequence   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        time_us    BIGINT NOT NULL,
        principal  TEXT NOT NULL,
        method     TEXT NOT NULL,
        resource   TEXT NOT NULL,
        action     TEXT NOT NULL,
        request_id TEXT NOT NULL,
        outcome    TEXT NOT NULL);
      CREATE INDEX audit_event_principal ON audit_event(principal, sequence);
      CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
      CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
      CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
        FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
    )sql"},
};
constexpr char kAuditMigrationsTable[] = "audit_schema_migrations";
// The audit's own connection on PostgreSQL (the writer; ListAuditEvents, rare, shares it): with
// the service's pool of 8 and the registry's LISTEN, 10 per process (docs/storage.md, "Pool
// policy"; deploy_manifests checks max_connections against it).
constexpr int kPostgresConnections = 1;

// fdatasync of a file as it is (absent: nothing to sync).
absl::Status SyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT
               ? absl::OkStatus()
               : absl::UnavailableError(absl::StrCat(path, " cannot be opened to sync"));
  }
  const int rc = ::fdatasync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus()
                 : absl::UnavailableError(absl::StrCat(path, " cannot be synced"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& data_dir,
                                                         prometheus::Registry* metrics) {
  ASSIGN_OR_RETURN(PageTokenCodec page_tokens, PageTokenCodec::ForDataDir(data_dir));
  return OpenSqlite(data_dir, std::move(page_tokens), metrics);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::OpenSqlite(const std::string& data_dir,
                                                               PageTokenCodec page_tokens,
                                                               prometheus::Registry* metrics) {
  const std::string path = (std::filesystem::path(data_dir) / "audit.db").string();
  // The writer's connection is opened synchronous=NORMAL (so through the default VFS: the WAL
  // batch VFS serves FULL connections only and refuses the switch, wal_batch_vfs.h) and set to
  // FULL for every write a call waits for: a call is acknowledged only after its event is
  // committed, so that commit must survive power loss too (one fsync per group). Writes that
  // only move outbox rows stay NORMAL between sync points (WriteBatch).
  ASSIGN_OR_RETURN(auto db, sqlite::Database::Open(path, {.full_sync = false}));
  RETURN_IF_ERROR(db->Migrate(kMigrations));
  // What an earlier run left in the WAL may never have been synced (moves before a kill -9): a
  // checkpoint syncs the WAL, copies it into audit.db and syncs that, so the marks read when the
  // outboxes attach, and the rows deleted up to them, are durable.
  // A checkpoint writes audit.db: on a full disk the files are synced as they are instead
  // (no space needed), so the service still starts and reports the trail unwritable later.
  if (absl::Status checkpointed = db->Exec("PRAGMA wal_checkpoint(TRUNCATE)"); !checkpointed.ok()) {
    log::Warn("audit trail not checkpointed at open; syncing its files as they are",
              {{"error", std::string(checkpointed.message())}});
    RETURN_IF_ERROR(SyncFile(path + "-wal"));
    RETURN_IF_ERROR(SyncFile(path));
  }
  ASSIGN_OR_RETURN(auto reader, sqlite::Database::Open(path));
  return Create(std::move(db), std::move(reader), nullptr, std::move(page_tokens), metrics);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const ServerConfig& config,
                                                         prometheus::Registry* metrics) {
  ASSIGN_OR_RETURN(storage::DatabaseUrl url,
                   storage::ParseDatabaseUrl(config.database, config.data_dir, config.service));
  ASSIGN_OR_RETURN(PageTokenCodec page_tokens,
                   PageTokenCodec::Load(config.page_token_key_file, config.data_dir));
  if (url.kind != storage::DatabaseUrl::Kind::kPostgres) {
    return OpenSqlite(config.data_dir, std::move(page_tokens), metrics);
  }
  storage::OpenSettings settings;
  settings.postgres_connections = kPostgresConnections;
  if (!config.database_password_file.empty()) {
    ASSIGN_OR_RETURN(settings.password, storage::ReadPasswordFile(config.database_password_file));
  }
  storage::DatabaseOptions options;
  options.migrations = kPostgresMigrations;
  options.migrations_table = kAuditMigrationsTable;
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Database> shared,
                   storage::OpenDatabase(url, settings, nullptr, options));
  return Create(nullptr, nullptr, std::move(shared), std::move(page_tokens), metrics);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Create(
    std::unique_ptr<sqlite::Database> db, std::unique_ptr<sqlite::Database> reader,
    std::unique_ptr<storage::Database> shared, PageTokenCodec page_tokens,
    prometheus::Registry* metrics) {
  Metrics m;
  if (metrics != nullptr) {
    m.written = &prometheus::BuildCounter()
                     .Name("dorset_audit_events_written_total")
                     .Help("Audit events committed to the audit trail")
                     .Register(*metrics)
                     .Add({});
    m.failures = &prometheus::BuildCounter()
                      .Name("dorset_audit_write_failures_total")
                      .Help("Attempts to commit a group of audit events that failed")
                      .Register(*metrics)
                      .Add({});
    m.dropped = &prometheus::BuildCounter()
                     .Name("dorset_audit_events_dropped_total")
                     .Help(
                         "Audit events given up (written to the log instead) because the audit "
                         "trail could not be written")
                     .Register(*metrics)
                     .Add({});
    m.queued = &prometheus::BuildGauge()
                    .Name("dorset_audit_queued_events")
                    .Help("Audit events waiting to be committed")
                    .Register(*metrics)
                    .Add({});
    m.writable = &prometheus::BuildGauge()
                      .Name("dorset_audit_writable")
                      .Help("1 while the last write to the audit trail succeeded, 0 while it fails")
                      .Register(*metrics)
                      .Add({});
    m.writable->Set(1);
  }
  return std::unique_ptr<AuditLog>(
      new AuditLog(std::move(db), std::move(reader), std::move(shared), std::move(page_tokens), m));
}

}  // namespace dorset::runtime
