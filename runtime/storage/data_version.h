// A store's data version and generation (issue 16): what replies kept per store generation
// (runtime/cache/versioned_response_cache.h, runtime/server/cached_unary.h) are keyed by, the
// same way for every service.
//
// The data version lives in the database: a row ('data_version') of the store's key/value table
// `meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`, raised by BumpDataVersion inside every write
// transaction (so it moves exactly when a commit does; it returns the version the transaction
// commits) and, on PostgreSQL, notifying the store's channel with that version, delivered at
// that commit.
//
// The generation is a number of this process's own (StoreGeneration), read before a reply is
// computed: raised after each of this process's write transactions commits (before the write is
// acknowledged), and by a DataVersionFollower when the data version in the database moved
// because another replica (or process) wrote.
//
// The follower is prompt on PostgreSQL by LISTEN on the channel, and sound by the database:
// after every notification it has not been told about (OwnCommits below), and at least once per
// `poll` without one, it reads the data version and advances the generation when it moved past
// what is covered. A notification lost while the listening connection was down costs at most
// `poll`. On SQLite it polls only (another process writing the same file, e.g. a tool).
//
// OwnCommits keeps the follower from advancing the generation a second time for this process's
// own commits (each of which it already advanced for): every write records the version it
// commits (Committing), and after its advance that versions up to it are covered (Covered).
//
//   StoreGeneration generation;
//   OwnCommits own;
//   DataVersionFollower follower({.read_version = [&] { return ReadDataVersion(db); },
//                                 .advance = [&] { generation.Advance(); },
//                                 .postgres_uri = uri, .password = password,
//                                 .channel = "dorset_finance_data", .own = &own});
//   // a write: OwnCommit commit(own); ... in it: commit.Bumped(*BumpDataVersion(tx, channel));
//   // committed: generation.Advance(); commit.Covered(OwnCommits::Advanced::kAll);
//   // (a store's own write does both through WriteAndAdvance, write_and_advance.h)
#ifndef DORSET_RUNTIME_STORAGE_DATA_VERSION_H_
#define DORSET_RUNTIME_STORAGE_DATA_VERSION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "runtime/storage/database.h"

namespace dorset::runtime::storage {

class PostgresListener;

// Raises the data version in `tx` (the row is made on first use) and, on PostgreSQL, notifies
// `channel` (a plain identifier) with it, delivered at the commit. One statement, the same on
// both engines but for the notification. Returns the version this transaction commits.
absl::StatusOr<uint64_t> BumpDataVersion(Transaction& tx, std::string_view channel);
// BumpDataVersion in a write transaction that read the version earlier (ReadDataVersion gave
// `read`), without waiting for the new version: it is `read` + 1 (a write transaction is
// SERIALIZABLE on PostgreSQL, so a bump committed by another after its snapshot fails it). On
// PostgreSQL the bump is sent (Statement::Send) and goes in one round trip with the commit; the
// statement checks that it made `read` + 1 and otherwise fails, so the transaction does not
// commit. Returns `read` + 1.
absl::StatusOr<uint64_t> SendDataVersionBump(Transaction& tx, std::string_view channel,
                                             uint64_t read);
// The data version as of `tx`'s snapshot (0 before the first write).
absl::StatusOr<uint64_t> ReadDataVersion(Transaction& tx);
// ReadDataVersion in two halves (Statement::SendAhead): the read sent now, on PostgreSQL in one
// round trip with the other reads sent with it (BEGIN's, when first), and its value taken later
// (before the transaction writes the version: SendDataVersionBump's `read`).
absl::StatusOr<Statement> SendDataVersionRead(Transaction& tx);
absl::StatusOr<uint64_t> TakeDataVersion(Statement& read);
// The same in a read transaction of its own.
absl::StatusOr<uint64_t> ReadDataVersion(Database& db);

// This process's generation of a store (see the file comment). Thread-safe.
class StoreGeneration {
 public:
  uint64_t get() const { return generation_.load(std::memory_order_acquire); }
  void Advance() { generation_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  std::atomic<uint64_t> generation_{1};
};

// What this process's own commits have already advanced its generations for, so that the
// follower, told of them by their notifications, does not advance (nor read) again. Thread-safe.
//
// `covered()` is V when every commit with a data version up to V is reflected by an advance of
// every generation of the store made after that commit. Why skipping the follower's advance for
// a version up to covered() never serves a stale reply: say replicas A and B, B commits v=5 and
// A v=6. The data_version row serialises the writers, so A's transaction read 5 and v=5
// committed before A's commit; A advances after its commit, so after v=5 committed, and only
// then publishes covered = 6. A reply kept under a generation read after that advance is read
// in a snapshot taken after it, which holds v=5 and v=6; a reply kept under an older generation
// is never served again. So when A's follower, notified of v=5 (or reading 6), finds covered >=
// it, nothing is missing. If it reads before covered is published, it advances once more:
// a miss, never a stale reply. The follower's own advance after reading v covers v the same way.
//
// A write that advances only some of the store's generations (finance's posting group leaves
// the plans' generation; engagement's responses the activities'): its commit covers V only when
// V-1 is covered already, i.e. no other writer's commit (which the generations it left need to
// see) came in between.
class OwnCommits {
 public:
  enum class Advanced { kAll, kSome };

  uint64_t covered() const { return covered_.load(std::memory_order_acquire); }

  // In a write transaction, after its BumpDataVersion returned `version`: the commit may come.
  // The follower, notified of `version`, waits for it to be covered or withdrawn (the commit's
  // outcome) before deciding to read.
  void Committing(uint64_t version);
  // After the commit of `version` and this process's advance of its generations for it.
  void Covered(uint64_t version, Advanced advanced);
  // The commit of `version` did not happen (or is not known to have): nothing is covered.
  void Withdraw(uint64_t version);

  // The follower: after it read `version` from the database (and advanced when it had to).
  // A version lower than before (the database restored under the process) starts afresh.
  void Read(uint64_t version, bool backwards);
  // The follower: waits up to `timeout` while `version` is this process's pending commit; true
  // when it is covered.
  bool AwaitCovered(uint64_t version, absl::Duration timeout);

 private:
  struct Awaited {
    const OwnCommits* own;
    uint64_t version;
  };
  // Covered, or not this process's pending commit (an absl::Condition, run with mu_ held).
  static bool Settled(Awaited* awaited);
  void Remove(uint64_t version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<uint64_t> pending_ ABSL_GUARDED_BY(mu_);  // a few: one per writing thread
  std::atomic<uint64_t> covered_{0};                    // written under mu_
};

// One write transaction's part in OwnCommits: Bumped in each run of the transaction (a retried
// one bumps again), Covered after the commit and the advance; a commit never covered is
// withdrawn when this goes.
class OwnCommit {
 public:
  explicit OwnCommit(OwnCommits* own) : own_(own) {}
  ~OwnCommit() { Withdraw(); }
  OwnCommit(const OwnCommit&) = delete;
  OwnCommit& operator=(const OwnCommit&) = delete;

  void Bumped(uint64_t version);
  void Covered(OwnCommits::Advanced advanced);
  void Withdraw();
  std::optional<uint64_t> version() const { return version_; }

 private:
  OwnCommits* const own_;  // null: nothing is recorded
  std::optional<uint64_t> version_;
};

class DataVersionFollower {
 public:
  struct Source {
    std::function<absl::StatusOr<uint64_t>()> read_version;  // the data version in the database
    std::function<void()> advance;                           // raises the generation
    std::string postgres_uri;                                // "" (SQLite): polls only
    std::string password;
    std::string channel;  // what every write transaction notifies (PostgreSQL)
    // This process's own commits (null: every notification is read, and any move advances).
    OwnCommits* own = nullptr;
  };
  // Reads the baseline at once (a write after it, from anywhere, is seen as a change), then
  // follows on a thread of its own until destroyed.
  explicit DataVersionFollower(Source source, absl::Duration poll = absl::Seconds(1));
  ~DataVersionFollower();
  DataVersionFollower(const DataVersionFollower&) = delete;
  DataVersionFollower& operator=(const DataVersionFollower&) = delete;

 private:
  void Loop();
  // Whether every notification in `payloads` is of a commit of this process already covered.
  bool AllOwn(const std::vector<std::string>& payloads);

  const Source source_;
  const absl::Duration poll_;
  std::unique_ptr<PostgresListener> listener_;  // null on SQLite
  std::optional<uint64_t> seen_;  // the last data version read (only the thread, once started)
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_DATA_VERSION_H_
