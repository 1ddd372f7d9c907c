#include "services/registry/storage/store.h"

#include <filesystem>
#include <map>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "registry_migrations.h"
#include "runtime/base/string_view.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "runtime/storage/etag.h"
#include "runtime/storage/open.h"
#include "runtime/storage/postgres/listener.h"
#include "runtime/storage/sqlite/user_version.h"
#include "services/registry/closure_policy.h"
#include "services/registry/storage/legacy_sqlite.h"
#include "services/registry/storage/name_function.h"
#include "services/registry/storage/storage_rows.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace {

// The queue every replica's writes wait in on PostgreSQL (Database::WriteQueued): each reads the
// change feed's counter row and appends after it.
constexpr int64_t kFeedWriteQueue = 0x7265676973747279;  // "registry"

using google::protobuf::util::TimeUtil;
using runtime::storage::Database;
using runtime::storage::Engine;
using runtime::storage::Statement;
using runtime::storage::Transaction;

}  // namespace

using storage_rows::FromMicros;
using storage_rows::kPracticeColumns;
using storage_rows::ParsePractice;
using storage_rows::ReadChangeRow;
using storage_rows::ReadPracticeRow;
using storage_rows::TextColumn;

// ---- Store ----

std::string EtagFor(int64_t revision) { return runtime::storage::Etag(revision); }

Store::Store(std::unique_ptr<Database> db, std::string data_dir)
    : db_(std::move(db)), data_dir_(std::move(data_dir)) {}
Store::~Store() {
  {
    absl::MutexLock lock(&analyze_mu_);
    analyze_wanted_ = false;  // a statistics refresh not started yet is not needed any more
  }
  if (analyzer_.joinable()) analyzer_.join();
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const runtime::ServerConfig& config) {
  std::string password;
  if (!config.database_password_file.empty()) {
    ASSIGN_OR_RETURN(password, runtime::storage::ReadPasswordFile(config.database_password_file));
  }
  return Open(config.database, config.data_dir, password);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& database,
                                                   const std::string& data_dir,
                                                   const std::string& password) {
  namespace storage = runtime::storage;
  ASSIGN_OR_RETURN(storage::DatabaseUrl url,
                   storage::ParseDatabaseUrl(database, data_dir, "registry"));
  if (url.kind == storage::DatabaseUrl::Kind::kSqlite) {
    RETURN_IF_ERROR(RegisterNameFunction());  // the name walk's test, on every connection
    // A registry.db of an earlier release: its own steps up to 4 (with the text repair), then
    // its PRAGMA user_version carried over as lane steps.
    RETURN_IF_ERROR(UpgradePreLaneStore(url.sqlite_path));
    RETURN_IF_ERROR(storage::AdoptUserVersion(
        url.sqlite_path, migrations::RegistryMigrations(storage::Engine::kSqlite)));
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<Database> db,
      storage::OpenDatabase(url, {.password = password}, migrations::RegistryMigrations));
  std::string dir = data_dir;
  if (dir.empty() && url.kind == storage::DatabaseUrl::Kind::kSqlite) {
    dir = std::filesystem::path(url.sqlite_path).parent_path().string();
  }
  std::unique_ptr<Store> store(new Store(std::move(db), dir.empty() ? "." : dir));
  if (url.kind == storage::DatabaseUrl::Kind::kPostgres) {
    store->postgres_uri_ = url.postgres_uri;
    store->password_ = password;
  }
  return store;
}

namespace {

// The change signal over PostgreSQL LISTEN/NOTIFY.
class ListenerSignal : public ChangeSignal {
 public:
  ListenerSignal(const std::string& uri, const std::string& password, const char* channel)
      : listener_(uri, password, channel) {}
  absl::StatusOr<bool> Wait(absl::Duration timeout) override { return listener_.Wait(timeout); }

 private:
  runtime::storage::PostgresListener listener_;
};

}  // namespace

std::unique_ptr<ChangeSignal> Store::ListenForChanges() const {
  if (postgres_uri_.empty()) return nullptr;
  return std::make_unique<ListenerSignal>(postgres_uri_, password_, kChangesChannel);
}

absl::StatusOr<std::unique_ptr<Store>> Store::OpenFile(const std::string& path) {
  return Open(absl::StrCat("sqlite://", path), "", "");
}

absl::StatusOr<std::vector<CommittedChange>> Store::Write(
    const std::string& source, const std::string& actor,
    const std::function<absl::Status(WriteTx&)>& fn) {
  absl::MutexLock lock(&write_mu_);
  std::vector<CommittedChange> changes;
  int64_t change_count = 0;
  // Every write reads the feed's counter row and appends after it: on PostgreSQL the writes of
  // all replicas queue for it (WriteQueued) instead of colliding under SERIALIZABLE and being
  // rolled back, which under load could exhaust the retries and fail an acknowledged-looking
  // write with ABORTED.
  RETURN_IF_ERROR(db_->WriteQueued(kFeedWriteQueue, [&](Transaction& tx) -> absl::Status {
    WriteTx write(tx, source, actor);  // afresh on every attempt
    RETURN_IF_ERROR(fn(write));
    RETURN_IF_ERROR(write.RestoreDeferred());
    RETURN_IF_ERROR(write.FinishNameIndex());
    RETURN_IF_ERROR(write.FinishSequences());
    changes = write.changes();
    change_count = write.change_count();
    return absl::OkStatus();
  }));
  // After a bulk write (an import) PostgreSQL's planner would go on with the statistics of
  // before (none, on a new store) until autovacuum's next ANALYZE, up to a minute or more: it
  // then reads every practice in key order for a postcode or name search that its indexes
  // serve in microseconds. So such a write refreshes them itself, beside its reply rather than
  // before it (the national import's ANALYZE took ~0.1-0.2 s of a ~1.5 s import, issue 16);
  // an import starts it after its caches' read-back (StatisticsHold).
  if (db_->engine() == Engine::kPostgres && change_count >= kAnalyzeAfterChanges) AnalyzeSoon();
  return changes;
}

Store::StatisticsHold::StatisticsHold(Store& store) : store_(store) {
  absl::MutexLock lock(&store_.analyze_mu_);
  ++store_.analyze_holds_;
}

Store::StatisticsHold::~StatisticsHold() {
  absl::MutexLock lock(&store_.analyze_mu_);
  if (--store_.analyze_holds_ > 0 || !store_.analyze_wanted_ || store_.analyze_running_) return;
  store_.StartAnalyzer();
}

void Store::AnalyzeSoon() {
  absl::MutexLock lock(&analyze_mu_);
  analyze_wanted_ = true;
  if (analyze_running_) return;    // it runs once more when done
  if (analyze_holds_ > 0) return;  // the last hold's end starts it
  StartAnalyzer();
}

void Store::StartAnalyzer() {
  analyze_running_ = true;
  if (analyzer_.joinable()) {
    std::thread done = std::move(analyzer_);  // has returned (analyze_running_ was false)
    analyze_mu_.Unlock();
    done.join();
    analyze_mu_.Lock();
  }
  analyzer_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&analyze_mu_);
        if (!analyze_wanted_ || analyze_holds_ > 0) {  // a hold's end starts it again
          analyze_running_ = false;
          return;
        }
        analyze_wanted_ = false;
      }
      // The write has committed: a failure here costs only speed, so it is logged.
      if (absl::Status analyzed =
              db_->Write([](Transaction& tx) { return tx.Exec("ANALYZE practice"); });
          !analyzed.ok()) {
        runtime::log::Warn("ANALYZE practice after a bulk write failed",
                           {{"error", std::string(analyzed.message())}});
      }
    }
  });
}

absl::Status Store::Check() { return db_->Health(); }

std::string Store::Describe() const { return db_->Describe(); }

absl::StatusOr<std::optional<v1::Practice>> Store::GetPractice(const std::string& code) {
  std::optional<v1::Practice> practice;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(absl::StrCat("SELECT data, ", kPracticeColumns,
                                                             " FROM practice WHERE ods_code = ?")));
    stmt.Bind(1, code);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) practice = ReadPracticeRow(stmt, 0);
    return absl::OkStatus();
  }));
  return practice;
}

absl::StatusOr<std::vector<v1::Change>> Store::ChangesAfter(int64_t after, int limit) {
  std::vector<v1::Change> changes;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    changes.clear();
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx.Prepare("SELECT seq, payload, kind, resource, commit_time, source FROM change "
                   "WHERE seq > ? ORDER BY seq LIMIT ?"));
    stmt.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      changes.push_back(ReadChangeRow(stmt, 0));
    }
    return absl::OkStatus();
  }));
  return changes;
}

absl::StatusOr<std::vector<CommittedChange>> Store::ChangeHeadsAfter(int64_t after, int limit) {
  std::vector<CommittedChange> changes;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    changes.clear();
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare("SELECT seq, kind, resource FROM change WHERE seq > ? ORDER BY seq "
                                "LIMIT ?"));
    stmt.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      CommittedChange& change = changes.emplace_back();
      change.sequence = stmt.Int(0);
      change.kind = static_cast<v1::Change::Kind>(stmt.Int(1));
      change.resource = TextColumn(stmt, 2);
      if (absl::StartsWith(change.resource, "practices/")) {
        change.practice_code = change.resource.substr(sizeof("practices/") - 1);
      }
    }
    return absl::OkStatus();
  }));
  return changes;
}

absl::StatusOr<int64_t> Store::LatestSequence() {
  int64_t latest = 0;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT COALESCE(MAX(seq), 0) FROM change"));
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    latest = row ? stmt.Int(0) : 0;
    return absl::OkStatus();
  }));
  return latest;
}

}  // namespace dorset::registry
