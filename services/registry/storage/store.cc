#include "services/registry/storage/store.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <thread>
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

// ---- A first import's indexes, after its commit ----
//
// (write_tx_first_import.cc.) kIndexBuilders helpers, each with a write transaction of its own
// on a connection of the pool, take the next index of the list (the costliest first) until none
// is left. They are made when the import lists the indexes, so that each has its connection
// (opened afresh for most: ~0.1 s on a loaded machine) and its transaction begun by the time the
// import commits; they wait, and build once it has (Go), or end without building (the import
// rolled back). A build's commit does not wait for its WAL to reach the disk (each waited
// 1-40 ms): the list's DELETE in FinishIndexBuild does, and its commit record comes after
// theirs in the WAL, so a crash before it is durable leaves the list whole and the next start
// builds what is missing.
class Store::IndexBuild {
 public:
  IndexBuild(Database& db, int helpers) : db_(db) {
    for (int i = 0; i < helpers; ++i) helpers_.emplace_back([this] { Help(); });
  }
  ~IndexBuild() {
    {
      absl::MutexLock lock(&mu_);
      if (state_ == State::kWaiting) state_ = State::kCancelled;
    }
    for (std::thread& helper : helpers_) helper.join();
  }
  void Go(std::vector<std::string> statements) {
    absl::MutexLock lock(&mu_);
    statements_ = std::move(statements);
    state_ = State::kGo;
  }
  // Waits for the helpers: OK when every build they took has committed.
  absl::Status Join() {
    for (std::thread& helper : helpers_) helper.join();
    helpers_.clear();
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  enum class State { kWaiting, kGo, kCancelled };
  void Help() {
    absl::Status built = db_.Write([&](Transaction& tx) -> absl::Status {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](State* state) { return *state != State::kWaiting; }, &state_));
        if (state_ == State::kCancelled) return absl::OkStatus();
      }
      RETURN_IF_ERROR(tx.Exec("SET LOCAL synchronous_commit = off"));
      // A transaction run again (a retry) does not build again what its first run took: those
      // stay listed (FinishIndexBuild takes only the indexes that exist off the list).
      for (size_t i; (i = next_.fetch_add(1)) < statements_.size();) {
        RETURN_IF_ERROR(tx.Exec(statements_[i]));
      }
      return absl::OkStatus();
    });
    absl::MutexLock lock(&mu_);
    if (status_.ok()) status_ = built;
  }

  Database& db_;
  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kWaiting;
  std::vector<std::string> statements_;  // set by Go, read-only after
  std::atomic<size_t> next_{0};
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> helpers_;
};

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
    // A first import killed between its commit and its indexes' builds left them listed. The
    // store serves without them (slower, the same results), so a failure here is logged.
    if (absl::Status built = store->BuildDeferredIndexes(); !built.ok()) {
      runtime::log::Warn("building the indexes a first import deferred failed",
                         {{"error", std::string(built.message())}});
    }
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
  std::vector<std::string> indexes_after_commit;
  std::unique_ptr<IndexBuild> index_build;
  // Every write reads the feed's counter row and appends after it: on PostgreSQL the writes of
  // all replicas queue for it (WriteQueued) instead of colliding under SERIALIZABLE and being
  // rolled back, which under load could exhaust the retries and fail an acknowledged-looking
  // write with ABORTED.
  absl::Status written = db_->WriteQueued(kFeedWriteQueue, [&](Transaction& tx) -> absl::Status {
    WriteTx write(tx, source, actor);  // afresh on every attempt
    write.on_indexes_listed_ = [&] {
      if (!index_build) index_build = std::make_unique<IndexBuild>(*db_, kIndexBuilders);
    };
    RETURN_IF_ERROR(fn(write));
    RETURN_IF_ERROR(write.RestoreDeferred());
    RETURN_IF_ERROR(write.FinishNameIndex());
    RETURN_IF_ERROR(write.FinishSequences());
    changes = write.changes();
    change_count = write.change_count();
    indexes_after_commit = std::move(write.indexes_after_commit_);
    return absl::OkStatus();
  });
  if (index_build != nullptr) {
    // Committed: its listed indexes are built now; rolled back: they are in place, none listed.
    if (!written.ok() || indexes_after_commit.empty()) {
      index_build.reset();  // the helpers return without building
    } else {
      index_build->Go(std::move(indexes_after_commit));
      absl::MutexLock lock(&analyze_mu_);
      if (analyze_holds_ > 0) index_build_ = std::move(index_build);  // the last hold waits
    }
    if (index_build != nullptr) {
      if (absl::Status built = FinishIndexBuild(std::move(index_build)); !built.ok()) {
        runtime::log::Error("building a first import's indexes failed; the next start does",
                            {{"error", std::string(built.message())}});
      }
    }
  }
  RETURN_IF_ERROR(written);
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
  std::unique_ptr<IndexBuild> build;
  {
    absl::MutexLock lock(&store_.analyze_mu_);
    if (store_.analyze_holds_ == 1) build = std::move(store_.index_build_);
  }
  if (build != nullptr) {
    // The import's reply waits for its indexes (the refresh below comes after them too).
    if (absl::Status built = store_.FinishIndexBuild(std::move(build)); !built.ok()) {
      runtime::log::Error("building a first import's indexes failed; the next start does",
                          {{"error", std::string(built.message())}});
    }
  }
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

absl::Status Store::FinishIndexBuild(std::unique_ptr<IndexBuild> build) {
  absl::Status built = build->Join();
  build.reset();
  // Only the indexes that exist leave the list: one whose build failed stays for the next start.
  RETURN_IF_ERROR(db_->Write([](Transaction& tx) {
    return tx.Exec(
        "DELETE FROM import_deferred_index WHERE to_regclass(quote_ident(name)) IS NOT NULL");
  }));
  return built;
}

absl::Status Store::BuildDeferredIndexes() {
  if (db_->engine() != Engine::kPostgres) return absl::OkStatus();
  std::vector<std::string> statements;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    statements.clear();
    ASSIGN_OR_RETURN(Statement list, tx.Prepare("SELECT definition FROM import_deferred_index "
                                                "ORDER BY position"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, list.Step());
      if (!row) break;
      // The list is this store's own (the import wrote it from the catalog); what is run from it
      // is only ever an index's build.
      std::string statement = list.Text(0);
      if (!absl::StartsWith(statement, "CREATE INDEX IF NOT EXISTS ")) {
        return runtime::Internal(
            "import_deferred_index lists a statement that is not CREATE INDEX");
      }
      statements.push_back(std::move(statement));
    }
    return absl::OkStatus();
  }));
  if (statements.empty()) return absl::OkStatus();
  auto build = std::make_unique<IndexBuild>(*db_, kIndexBuilders);
  build->Go(std::move(statements));
  return FinishIndexBuild(std::move(build));
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
