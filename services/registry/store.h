// The registry's SQLite store: practices (indexed columns + the Practice message), localities,
// clusters, the practice->locality mapping, revisions, the change feed and idempotency keys.
//
// One writer connection behind a mutex (writes are serialised, so change sequences commit in
// order and a reader that sees sequence N has seen every sequence below it) and a pool of
// reader connections (WAL lets them read while a write is in progress). Every write runs
// inside Write(): one transaction, committed or rolled back whole, that records a change row
// (AUTOINCREMENT sequence) for each resource it changes.
#ifndef DORSET_SERVICES_REGISTRY_STORE_H_
#define DORSET_SERVICES_REGISTRY_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "dorset/registry/v1/registry.pb.h"
#include "runtime/sqlite/database.h"
#include "services/registry/population.h"

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
  std::string postcode_prefix_key;  // no spaces, upper case
  std::optional<int> prescribing_setting;
  std::string commissioner;
  Order order = Order::kOdsCode;
  bool descending = false;
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
  WriteTx(runtime::sqlite::Database& db, std::string source, std::string actor);

  absl::StatusOr<std::optional<v1::Practice>> LoadPractice(const std::string& code);
  // Stores `practice` (name, revision, etag, create/update time are set here), a revision and
  // a change. `previous` is the stored state before (null when new).
  absl::Status SavePractice(v1::Practice& practice, const v1::Practice* previous,
                            v1::Change::Kind kind, std::vector<std::string> changed_fields);

  absl::StatusOr<std::optional<std::string>> AssignedLocality(const std::string& code);
  // Returns the previous assignment.
  absl::StatusOr<std::optional<std::string>> SetAssignment(const std::string& code,
                                                           const std::string& locality_id);

  absl::StatusOr<std::optional<LocalityRow>> LoadLocality(const std::string& id);
  absl::Status SaveLocality(const LocalityRow& row, bool is_new);
  absl::StatusOr<std::optional<ClusterRow>> LoadCluster(const std::string& id);
  absl::Status SaveCluster(const ClusterRow& row, bool is_new);

  // Idempotency (runtime/api/request_id.h): the response stored for `request_id`, if any;
  // ALREADY_EXISTS (REQUEST_ID_REUSED) when the id was used by another method or for a request
  // with another `request_hash` (runtime::RequestHash).
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

  // An import's scratch memory of keys already seen (duplicate codes, cluster names), kept
  // in the store so that it does not grow the process with the file. ResetSeen() empties it
  // (at the start and the end of every import, inside its transaction).
  struct Seen {
    int line = 0;
    std::string value;
  };
  absl::Status ResetSeen();
  // The first sighting of `key` in this import, or nullopt after recording this one.
  absl::StatusOr<std::optional<Seen>> SeeOnce(const std::string& key, int line,
                                              const std::string& value);

  // The changes made so far: listed up to kMaxListedChanges (a bulk import may make more;
  // they are counted, and their commissioners kept, for the caller to read back).
  static constexpr size_t kMaxListedChanges = 10000;
  const std::vector<CommittedChange>& changes() const { return changes_; }
  int64_t change_count() const { return change_count_; }
  int64_t first_sequence() const { return first_sequence_; }
  int64_t last_sequence() const { return last_sequence_; }
  int64_t unlisted_changes() const { return change_count_ - static_cast<int64_t>(changes_.size()); }
  std::vector<std::string> unlisted_commissioners() const;
  int64_t now_micros() const { return now_micros_; }

 private:
  absl::StatusOr<runtime::sqlite::Statement*> Cached(int slot, std::string_view sql);
  absl::StatusOr<int64_t> AppendChange(v1::Change change, const std::string& resource);
  void Record(CommittedChange change);

  runtime::sqlite::Database& db_;
  const std::string source_;
  const std::string actor_;
  const int64_t now_micros_;
  std::vector<std::optional<runtime::sqlite::Statement>> statements_;
  std::vector<CommittedChange> changes_;
  int64_t change_count_ = 0;
  int64_t first_sequence_ = 0;
  int64_t last_sequence_ = 0;
  std::set<std::string> unlisted_commissioners_;
};

class Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);

  // Runs `fn` in one write transaction; commits when it returns OK. Returns what changed.
  absl::StatusOr<std::vector<CommittedChange>> Write(
      const std::string& source, const std::string& actor,
      const std::function<absl::Status(WriteTx&)>& fn);

  absl::StatusOr<std::optional<v1::Practice>> GetPractice(const std::string& code);
  absl::StatusOr<PracticePage> ListPractices(const PracticeQuery& query,
                                             const std::optional<PracticeCursor>& after, int limit);
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
  absl::StatusOr<int64_t> LatestSequence();
  absl::Status Check();
  const std::string& path() const { return path_; }

 private:
  explicit Store(std::string path, std::unique_ptr<runtime::sqlite::Database> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}

  // A reader connection leased from the pool.
  class Reader;
  absl::StatusOr<Reader> LeaseReader();
  void ReturnReader(std::unique_ptr<runtime::sqlite::Database> db);

  absl::StatusOr<std::vector<v1::Locality>> LocalitiesOn(runtime::sqlite::Database& db,
                                                         const std::string& cluster_id,
                                                         const Populations& populations);
  absl::StatusOr<std::vector<v1::Cluster>> ClustersOn(runtime::sqlite::Database& db,
                                                      const Populations& populations);

  const std::string path_;
  absl::Mutex write_mu_;
  std::unique_ptr<runtime::sqlite::Database> writer_ ABSL_GUARDED_BY(write_mu_);
  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<runtime::sqlite::Database>> idle_readers_ ABSL_GUARDED_BY(pool_mu_);
};

// The etag of a stored revision.
std::string EtagFor(int64_t revision);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_STORE_H_
