// The registry's storage, on the storage lane (runtime/storage, docs/storage.md) on either
// engine, SQLite (default: <data_dir>/registry.db) or PostgreSQL: practices (indexed columns +
// the Practice message), localities, clusters, the practice->locality mapping, revisions, the
// change feed and idempotency keys. Domain and proto types in and out; the SQL and the engine
// stay in this folder.
//
// Every write runs inside Write(): one transaction, committed or rolled back whole, that
// records a change row for each resource it changes. Change sequences are gap-free and in
// commit order on both engines (store.cc, "Change sequences"), so a reader that sees sequence
// N has seen every sequence below it. Writes of one process are also serialised by a mutex
// (no engine-level conflicts between them); writers in other processes are serialised by the
// database.
#ifndef DORSET_SERVICES_REGISTRY_STORAGE_STORE_H_
#define DORSET_SERVICES_REGISTRY_STORAGE_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "dorset/registry/v1/registry.pb.h"
#include "runtime/config/config.h"
#include "services/registry/population.h"
#include "services/registry/storage/list_memo.h"
#include "services/registry/storage/practice_bytes.h"

namespace dorset::runtime::storage {
class Database;
class Statement;
class Transaction;
}  // namespace dorset::runtime::storage

namespace dorset::registry {

// One change made by a committed write, for cache invalidation and watchers.
struct CommittedChange {
  int64_t sequence = 0;
  v1::Change::Kind kind = v1::Change::KIND_UNSPECIFIED;
  std::string resource;
  std::string practice_code;               // for practice changes
  std::vector<std::string> commissioners;  // the practice's commissioner before and after
};

// Filters and order of ListPractices, already validated.
struct PracticeQuery {
  enum class Order { kOdsCode, kDisplayName, kPostcode, kUpdateTime, kListSize };
  std::string locality_id;
  std::string cluster_id;
  std::vector<int> statuses;
  std::string name_contains;
  std::string name_prefix;
  std::optional<int64_t> update_micros_since;   // update_time >= this
  std::optional<int64_t> update_micros_before;  // update_time < this
  std::string postcode_prefix_key;              // no spaces, upper case
  std::optional<int> prescribing_setting;
  std::string commissioner;
  Order order = Order::kOdsCode;
  bool descending = false;
  // How the rows are found; the results are the same (store.cc, "Name search"). kScan is the
  // plan from before the name search index, every practice read and filtered: tests compare.
  enum class Plan { kIndexed, kScan };
  Plan plan = Plan::kIndexed;
};

// Keyset position: the sort value and the code of the last row returned.
struct PracticeCursor {
  std::string text;
  int64_t number = 0;
  std::string ods_code;
};

struct PracticePage {
  std::vector<v1::Practice> practices;
  std::optional<PracticeCursor> last;  // set when more rows may follow
  int total_size = 0;
};

// The same page as reply bytes (issue 16, practice_bytes.h): each practice serialized exactly
// as PracticePage's message would be, framed as a length-delimited field of the enclosing reply.
struct PracticeBytesPage {
  std::string practices;  // the fields, one per practice, in order
  int size = 0;           // how many practices
  std::optional<PracticeCursor> last;
  int total_size = 0;
};

struct LocalityRow {
  std::string id;
  std::string display_name;
  std::string cluster_id;
};

struct ClusterRow {
  std::string id;
  std::string display_name;
};

// The write side of one transaction. Only valid inside Store::Write's callback.
class WriteTx {
 public:
  WriteTx(runtime::storage::Transaction& tx, std::string source, std::string actor);
  ~WriteTx();

  absl::StatusOr<std::optional<v1::Practice>> LoadPractice(const std::string& code);
  // Stores `practice` (name, revision, etag, create/update time are set here), a revision and
  // a change. `previous` is the stored state before (null when new).
  absl::Status SavePractice(v1::Practice& practice, const v1::Practice* previous,
                            v1::Change::Kind kind, std::vector<std::string> changed_fields);

  // Set-based forms for an import (issue 16): each reads or writes a batch of practices with a
  // few statements of up to kBatchRows rows each (a batch that is not a multiple is split into
  // powers of two, so every engine sees a bounded set of statement shapes) instead of one
  // statement per practice: six round trips per practice on PostgreSQL became six per batch.
  static constexpr size_t kBatchRows = 256;
  // The stored practices among `codes` (distinct), by code.
  absl::Status LoadPractices(std::span<const std::string> codes,
                             absl::flat_hash_map<std::string, v1::Practice>& found);
  // The locality assignments among `codes` (distinct), by code.
  absl::Status AssignedLocalities(std::span<const std::string> codes,
                                  absl::flat_hash_map<std::string, std::string>& found);
  struct PracticeSave {
    v1::Practice practice;                   // completed as by SavePractice
    const v1::Practice* previous = nullptr;  // the stored state before; null when new
    v1::Change::Kind kind = v1::Change::KIND_UNSPECIFIED;
    std::vector<std::string> changed_fields;
  };
  // SavePractice for each of `saves` (distinct codes), in order: the same rows, sequences and
  // recorded changes as calling it for each in turn.
  absl::Status SavePractices(std::span<PracticeSave> saves);

  absl::StatusOr<std::optional<std::string>> AssignedLocality(const std::string& code);
  // Returns the previous assignment.
  absl::StatusOr<std::optional<std::string>> SetAssignment(const std::string& code,
                                                           const std::string& locality_id);

  absl::StatusOr<std::optional<LocalityRow>> LoadLocality(const std::string& id);
  absl::Status SaveLocality(const LocalityRow& row, bool is_new);
  absl::StatusOr<std::optional<ClusterRow>> LoadCluster(const std::string& id);
  absl::Status SaveCluster(const ClusterRow& row, bool is_new);

  // Idempotency: the storage lane's one record (runtime/storage/idempotency.h), keyed by the
  // request id with the method, the principal — this transaction's actor, the authenticated
  // caller who asked — and the request hash (runtime::RequestHash). FindRequest gives the reply
  // stored for `request_id`, if any; ALREADY_EXISTS (REQUEST_ID_REUSED) when the id was used by
  // another method, another caller or for a request with another hash. SaveRequest records the
  // reply in this transaction.
  absl::StatusOr<std::optional<std::string>> FindRequest(const std::string& request_id,
                                                         const std::string& method,
                                                         const std::string& request_hash);
  absl::Status SaveRequest(const std::string& request_id, const std::string& method,
                           const std::string& request_hash, const std::string& response);

  // Practices of `commissioner` ("" = all) with a list size but not ACTIVE, or ACTIVE
  // without one: the first `limit`, and in `total` how many there are. Empty when no practice
  // in scope has a list size (nothing to compare).
  absl::StatusOr<std::vector<v1::ImportReport::Mismatch>> Mismatches(
      const std::string& commissioner, int limit, int* total);

  // An import's scratch memory of keys already seen (duplicate codes, cluster names): in the
  // process while they take less than kSeenMemoryBytes, then all of them in the store's
  // import_seen table, so that the process does not grow with the file (write_tx_seen.cc).
  // ResetSeen() empties it (at the start and the end of every import, inside its transaction).
  struct Seen {
    int line = 0;
    std::string value;
  };
  static constexpr size_t kSeenMemoryBytes = 2 << 20;
  // Tests: the bytes kept in memory before the keys move to import_seen (0: kSeenMemoryBytes).
  static void SetSeenMemoryBytesForTest(size_t bytes);
  absl::Status ResetSeen();
  // The first sighting of `key` in this import, or nullopt after recording this one.
  absl::StatusOr<std::optional<Seen>> SeeOnce(const std::string& key, int line,
                                              const std::string& value);
  // SeeOnce for many distinct keys at once (key, line; value empty): for each, in order.
  absl::StatusOr<std::vector<std::optional<Seen>>> SeeEachOnce(
      std::span<const std::pair<std::string, int>> keys);

  // Marks this transaction a bulk write (an import): on SQLite the name search index is brought
  // up to date once, before the commit (Store::Write does it), instead of with every practice
  // written (migration 0009 says why). On PostgreSQL the batch writes are sent without waiting
  // (Statement::Send): the server applies a batch while the import reads and builds the next
  // one, and a write's failure fails the transaction at its next statement or its commit.
  absl::Status BeginBulk();

  // The changes made so far: listed up to kMaxListedChanges (a bulk import may make more;
  // they are counted, and their commissioners kept, for the caller to read back). This list is
  // most of an import's memory that is not per batch (issue 16: 10,000 made the peak grow
  // with the file up to ~10,000 practices; the read-back of the rest is cheap, ChangeHeadsAfter).
  static constexpr size_t kMaxListedChanges = 1000;
  const std::vector<CommittedChange>& changes() const { return changes_; }
  int64_t change_count() const { return change_count_; }
  int64_t first_sequence() const { return first_sequence_; }
  int64_t last_sequence() const { return last_sequence_; }
  int64_t unlisted_changes() const { return change_count_ - static_cast<int64_t>(changes_.size()); }
  std::vector<std::string> unlisted_commissioners() const;
  int64_t now_micros() const { return now_micros_; }

 private:
  friend class Store;
  // Statement slots of WriteTx (prepared once per transaction, reused for every row).
  enum Slot {
    kSeeOnce,
    kMarkSeen,
    kLoadPractice,
    kUpsertPractice,
    kInsertChange,
    kInsertRevision,
    kLoadAssignment,
    kUpsertAssignment,
    kLoadPractices,
    kLoadAssignments,
    kFindSeen,
    kMarkSeenRows,
    kInsertPractice,
    kAnyAssignment,
    kSync,
    kRevisionsFromChanges,
    kChangesFromPractices,
    kSlotCount
  };
  absl::StatusOr<runtime::storage::Statement*> Cached(int slot, std::string_view sql);
  // Runs a statement of rows written (no rows read): Send in a bulk write, else Run.
  absl::Status Apply(runtime::storage::Statement& stmt);
  // A statement of `rows` rows for a batch (kBatchRows or a power of two below): `sql` makes
  // its text, prepared once per transaction and shape.
  absl::StatusOr<runtime::storage::Statement*> CachedRows(
      int slot, size_t rows, const std::function<std::string(size_t)>& sql);
  // The next change sequence (the counter row is taken by the transaction's first).
  absl::StatusOr<int64_t> NextSequence();
  absl::StatusOr<int64_t> AppendChange(v1::Change change, const std::string& resource);
  // Writes the change counter back (the last sequence this transaction used), before commit.
  absl::Status FinishSequences();
  // Indexes the names of the practices written while the index was deferred.
  absl::Status FinishNameIndex();
  // PostgreSQL, a bulk write into an empty store: see store.cc, "The first import".
  absl::Status DeferIndexesIfEmpty(size_t rows);
  absl::Status RestoreDeferred();
  // PostgreSQL, a batch of new practices of one kind and changed fields: their change rows made
  // by the server from the practice rows just written. False (nothing written) when the batch
  // does not qualify.
  absl::StatusOr<bool> InsertChangesFromPractices(std::span<const PracticeSave> saves,
                                                  std::span<const std::string> data,
                                                  std::span<const int64_t> sequences);
  // The revision rows of `saves` (SavePractices), a batch's values at a time.
  absl::Status InsertRevisions(std::span<const PracticeSave> saves,
                               std::span<const int64_t> revisions,
                               std::span<const int64_t> sequences);
  // The import's keys seen (write_tx_seen.cc): one more in memory, and all of them moved to
  // import_seen when they take more than kSeenMemoryBytes.
  void RememberSeen(const std::string& key, int line, const std::string& value);
  absl::Status MoveSeenIfFull();
  void Record(CommittedChange change);

  runtime::storage::Transaction& tx_;
  const std::string source_;
  const std::string actor_;
  const int64_t now_micros_;
  std::vector<std::unique_ptr<runtime::storage::Statement>> statements_;
  std::map<std::pair<int, size_t>, std::unique_ptr<runtime::storage::Statement>> batch_statements_;
  int64_t next_sequence_ = 0;  // 0 until the first change takes the counter
  bool name_index_deferred_ = false;
  bool bulk_ = false;
  bool practices_written_ = false;
  bool empty_load_checked_ = false;
  // A bulk write asks once whether locality_assignment has any row (AssignedLocalities); while
  // it has none and this transaction writes none, a batch's assignments are not read.
  enum class Assignments { kUnknown, kNone, kSome };
  Assignments assignments_ = Assignments::kUnknown;
  // Statements sent (Apply in a bulk write, PostgreSQL) since Apply last waited for results.
  static constexpr int kMaxUnsyncedSends = 64;
  int unsynced_sends_ = 0;
  // Bloom filters of a constant size (store.cc), empty until in use: the keys this transaction
  // put in import_seen since its ResetSeen (SeeEachOnce), and the practices it wrote since
  // DeferIndexesIfEmpty found the store empty (LoadPractices).
  std::vector<uint64_t> seen_filter_;
  std::vector<uint64_t> written_filter_;
  // The keys seen while they fit in memory (SeeOnce, SeeEachOnce): first line, and the value
  // where it is not empty; seen_bytes_ is what they take. Once they would take more than
  // kSeenMemoryBytes they all move to import_seen (seen_in_table_) for the rest of the import.
  // seen_table_empty_: import_seen is known empty in this transaction (its DELETE is skipped).
  absl::flat_hash_map<std::string, int> seen_lines_;
  absl::flat_hash_map<std::string, std::string> seen_values_;
  size_t seen_bytes_ = 0;
  bool seen_in_table_ = false;
  bool seen_table_empty_ = false;
  std::vector<std::string> restore_;  // run before the commit (RestoreDeferred)
  // PostgreSQL: practice's indexes listed in import_deferred_index, as the statements that build
  // them after the commit (Store::Write). on_indexes_listed_ is called when they are listed.
  std::vector<std::string> indexes_after_commit_;
  std::function<void()> on_indexes_listed_;
  std::vector<CommittedChange> changes_;
  int64_t change_count_ = 0;
  int64_t first_sequence_ = 0;
  int64_t last_sequence_ = 0;
  std::set<std::string> unlisted_commissioners_;
};

// Wakes a replica when another one commits (Store::ListenForChanges): a hint, never the data;
// the caller reads what changed from the change table.
class ChangeSignal {
 public:
  virtual ~ChangeSignal() = default;
  // Waits up to `timeout`. True when a commit was signalled (or may have been missed while the
  // signal was disconnected); false on timeout; UNAVAILABLE while the database is away.
  virtual absl::StatusOr<bool> Wait(absl::Duration timeout) = 0;
};

class Store {
 public:
  // From a server's settings: `database` (empty: SQLite at <data_dir>/registry.db),
  // `database_password_file`. A registry.db of an earlier release is brought over first
  // (legacy_sqlite.h, then runtime/storage's AdoptUserVersion).
  static absl::StatusOr<std::unique_ptr<Store>> Open(const runtime::ServerConfig& config);
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& database,
                                                     const std::string& data_dir,
                                                     const std::string& password = "");
  // A SQLite file at `path` (tests and tools).
  static absl::StatusOr<std::unique_ptr<Store>> OpenFile(const std::string& path);
  ~Store();

  // Runs `fn` in one write transaction; commits when it returns OK. Returns what changed.
  // `fn` may run more than once (the database retries a transaction that lost a race with
  // another process): it must start from scratch each time.
  absl::StatusOr<std::vector<CommittedChange>> Write(
      const std::string& source, const std::string& actor,
      const std::function<absl::Status(WriteTx&)>& fn);

  // While one is alive, a statistics refresh that a bulk write asks for (see Write) waits, and
  // starts when the last one ends. An import holds one until its caches are refreshed: the
  // refresh (ANALYZE, ~0.1 s on the national extract) then runs after the read-back of the
  // import's changes instead of beside it, slowing it and so the reply (issue 16). Likewise a
  // first import's index builds after its commit (PostgreSQL) run beside that read-back, and the
  // last hold's end waits for them (without a hold, Write does), so that the reply still comes
  // with every index in place.
  class StatisticsHold {
   public:
    explicit StatisticsHold(Store& store);
    ~StatisticsHold();
    StatisticsHold(const StatisticsHold&) = delete;
    StatisticsHold& operator=(const StatisticsHold&) = delete;

   private:
    Store& store_;
  };

  absl::StatusOr<std::optional<v1::Practice>> GetPractice(const std::string& code);
  absl::StatusOr<PracticePage> ListPractices(const PracticeQuery& query,
                                             const std::optional<PracticeCursor>& after, int limit);
  // The same page with each practice as field `field` of the reply it goes into (for
  // ListPracticesResponse, 1), from the practices' bytes kept per stored row (practice_bytes.h):
  // the same practices, bytes, cursor and total as ListPractices, without building messages.
  absl::StatusOr<PracticeBytesPage> ListPracticeBytes(const PracticeQuery& query,
                                                      const std::optional<PracticeCursor>& after,
                                                      int limit, int field);
  absl::StatusOr<std::vector<v1::PracticeRevision>> ListRevisions(const std::string& code,
                                                                  int64_t before_revision,
                                                                  int limit);
  // Every locality with derived counts (ordered by id), optionally of one cluster.
  absl::StatusOr<std::vector<v1::Locality>> Localities(const std::string& cluster_id);
  // Every cluster with derived counts (ordered by id).
  absl::StatusOr<std::vector<v1::Cluster>> Clusters();
  absl::StatusOr<bool> LocalityExists(const std::string& id);
  absl::StatusOr<bool> ClusterExists(const std::string& id);
  absl::StatusOr<std::vector<std::string>> LocalityIds();
  absl::StatusOr<std::vector<std::string>> ClusterIds();
  // NOT_FOUND-free: an empty summary has zero counts; `found` tells whether any practice of
  // the commissioner exists.
  absl::StatusOr<v1::AreaSummary> Summary(const std::string& commissioner, bool* found);
  absl::StatusOr<std::vector<v1::Change>> ChangesAfter(int64_t after, int limit);
  // The sequence, kind and resource (and practice code) of the changes after `after`, without
  // their state: what the caches need of an import's unlisted changes (commit_effects.h).
  absl::StatusOr<std::vector<CommittedChange>> ChangeHeadsAfter(int64_t after, int limit);
  absl::StatusOr<int64_t> LatestSequence();
  // The database's health for readiness: OK while it answers, UNAVAILABLE while it is away.
  absl::Status Check();
  // Where the store is, without secrets.
  std::string Describe() const;
  // The service's local data directory (scratch files such as an import's spool go there).
  const std::string& data_dir() const { return data_dir_; }
  // On PostgreSQL (where several replicas may share the database): a signal raised by every
  // committed write of any replica (LISTEN on kChangesChannel, notified inside the write
  // transaction so it is delivered exactly when the write commits). Null on SQLite (one process
  // per file).
  std::unique_ptr<ChangeSignal> ListenForChanges() const;
  static constexpr char kChangesChannel[] = "dorset_registry_changes";

  // PostgreSQL: builds the indexes listed in import_deferred_index (by a first import killed
  // between its commit and their builds; write_tx_first_import.cc), kIndexBuilders at a time,
  // and takes those built off the list. Open calls it at every start. OK when the list is
  // empty; on SQLite nothing to do.
  absl::Status BuildDeferredIndexes();
  // Two: one build is one server process's CPU; the second overlaps the GIN build with the
  // b-trees' (measured on 2 vCPUs, bench/README.md session 23).
  static constexpr int kIndexBuilders = 2;

 private:
  Store(std::unique_ptr<runtime::storage::Database> db, std::string data_dir);

  // The rows of one page of `query`: `start` when a (re)try of the read transaction begins,
  // `row` for each row selected as (sort value, data, <practice columns>). With `kept`, a page
  // that SQLite walks in code order first asks `kept(ods_code, revision)` for each practice of
  // the page, read from the walked index alone; when it answers true for all of them the page is
  // done (no row read, `row` not called), else `start` and the rows as without it.
  using KeptRow = absl::FunctionRef<bool(const std::string& ods_code, int64_t revision)>;
  absl::Status ListPracticeRows(const PracticeQuery& query,
                                const std::optional<PracticeCursor>& after, int limit,
                                absl::FunctionRef<void()> start,
                                absl::FunctionRef<void(const runtime::storage::Statement&)> row,
                                std::optional<PracticeCursor>& last, int& total_size,
                                std::optional<KeptRow> kept = std::nullopt);

  std::unique_ptr<runtime::storage::Database> db_;
  const std::string data_dir_;
  std::string postgres_uri_;  // set on PostgreSQL, for ListenForChanges
  std::string password_;
  // A committed write with at least this many changes refreshes PostgreSQL's statistics.
  static constexpr int64_t kAnalyzeAfterChanges = 1000;
  // Runs ANALYZE of the practices on analyzer_, after the write that asked has replied: once
  // more when asked again while it runs.
  void AnalyzeSoon();
  // Starts analyzer_ (analyze_running_ was false). Called and returns with analyze_mu_ held.
  void StartAnalyzer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(analyze_mu_);
  // A first import's index builds after its commit (store.cc): they start taking their
  // connections when the import lists the indexes, and build once it has committed.
  class IndexBuild;
  // Waits for `build`'s helpers, then takes the indexes built off the list.
  absl::Status FinishIndexBuild(std::unique_ptr<IndexBuild> build);
  absl::Mutex analyze_mu_;
  int analyze_holds_ ABSL_GUARDED_BY(analyze_mu_) = 0;  // StatisticsHolds alive
  // A committed first import's index builds, running until the last StatisticsHold ends (the
  // import's, after its caches' read-back, which they overlap), which waits for them.
  std::unique_ptr<IndexBuild> index_build_ ABSL_GUARDED_BY(analyze_mu_);
  bool analyze_wanted_ ABSL_GUARDED_BY(analyze_mu_) = false;
  bool analyze_running_ ABSL_GUARDED_BY(analyze_mu_) = false;
  std::thread analyzer_;  // joined by ~Store
  // One writer at a time in this process: the change counter is then never contended by this
  // process's own writes (no retries between them).
  absl::Mutex write_mu_;
  // ListPractices' counts per data version and SQLite's plan shapes (list_memo.h).
  ListMemo list_memo_;
  // Each listed practice's reply bytes per stored row (practice_bytes.h).
  PracticeBytesMemo practice_bytes_;
};

// The etag of a stored revision.
std::string EtagFor(int64_t revision);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_STORAGE_STORE_H_
