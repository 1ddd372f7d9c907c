#include "tests/engagement/pre_lane_store.h"

#include "runtime/status/status_macros.h"

namespace dorset::engagement {
namespace {

using runtime::sqlite::Database;
using runtime::sqlite::Migration;

// Times are microseconds since the Unix epoch; repeated names are '\n'-joined ids.
// response_count holds the per-activity counters the aggregates read: they change in the same
// transaction as the responses they count, so a read never needs to scan responses.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE stakeholder (
  id TEXT PRIMARY KEY,
  kind INTEGER NOT NULL,
  display_name TEXT NOT NULL,
  organisation TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT NOT NULL,
  postal_address TEXT NOT NULL,
  contact_consent INTEGER NOT NULL,
  contact_consent_time INTEGER,
  publish_consent INTEGER NOT NULL,
  publish_consent_time INTEGER,
  locality TEXT NOT NULL,
  erased INTEGER NOT NULL DEFAULT 0,
  erase_time INTEGER,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  version INTEGER NOT NULL
);
CREATE TABLE activity (
  id TEXT PRIMARY KEY,
  kind INTEGER NOT NULL,
  title TEXT NOT NULL,
  purpose TEXT NOT NULL,
  localities TEXT NOT NULL,
  finance_scheme TEXT NOT NULL,
  state INTEGER NOT NULL,
  window_start INTEGER,
  window_end INTEGER,
  open_time INTEGER,
  close_time INTEGER,
  publish_time INTEGER,
  outcome_summary TEXT NOT NULL,
  reported_participants INTEGER NOT NULL,
  reported_source TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  version INTEGER NOT NULL
);
CREATE TABLE theme (
  activity_id TEXT NOT NULL REFERENCES activity(id),
  id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  description TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (activity_id, id)
) WITHOUT ROWID;
CREATE TABLE response (
  id INTEGER PRIMARY KEY,
  activity_id TEXT NOT NULL REFERENCES activity(id),
  stakeholder_id TEXT,
  text TEXT NOT NULL,
  channel INTEGER NOT NULL,
  locality TEXT NOT NULL,
  practice TEXT NOT NULL,
  themes TEXT NOT NULL,
  sentiment INTEGER NOT NULL,
  publish_consent INTEGER NOT NULL,
  anonymised INTEGER NOT NULL DEFAULT 0,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  version INTEGER NOT NULL
);
CREATE INDEX response_by_activity ON response(activity_id, id);
CREATE INDEX response_by_stakeholder ON response(stakeholder_id) WHERE stakeholder_id IS NOT NULL;
CREATE TABLE decision (
  activity_id TEXT NOT NULL REFERENCES activity(id),
  id TEXT NOT NULL,
  summary TEXT NOT NULL,
  rationale TEXT NOT NULL,
  themes TEXT NOT NULL,
  responses TEXT NOT NULL,
  decided_by TEXT NOT NULL,
  decide_time INTEGER,
  published INTEGER NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (activity_id, id)
) WITHOUT ROWID;
CREATE TABLE response_count (
  activity_id TEXT NOT NULL,
  dimension TEXT NOT NULL,
  key TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (activity_id, dimension, key)
) WITHOUT ROWID;
CREATE TABLE request_log (
  method TEXT NOT NULL,
  request_id TEXT NOT NULL,
  resource TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  PRIMARY KEY (method, request_id)
) WITHOUT ROWID;
)sql"},
    // A request_id remembers which request it was for (see rows.h RequestHash).
    {2, R"sql(
ALTER TABLE request_log ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
)sql"},
    // Practices an activity's responses may name beyond the commissioner's open ones
    // ('\n'-joined practices/{code}); activities stored before it allow none.
    {3, R"sql(
ALTER TABLE activity ADD COLUMN allowed_practices TEXT NOT NULL DEFAULT '';
)sql"},
};

// Erased personal data must not linger in freed pages.
absl::Status Harden(Database& db) { return db.Exec("PRAGMA secure_delete = ON"); }

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path, int readers) {
  std::unique_ptr<Store> store(new Store());
  ASSIGN_OR_RETURN(auto writer, Database::Open(path));
  RETURN_IF_ERROR(Harden(*writer));
  RETURN_IF_ERROR(writer->Migrate(kMigrations));
  for (int i = 0; i < readers; ++i) {
    ASSIGN_OR_RETURN(auto reader, Database::Open(path));
    absl::MutexLock lock(&store->pool_mu_);
    store->idle_.push_back(std::move(reader));
  }
  absl::MutexLock lock(&store->write_mu_);
  store->writer_ = std::move(writer);
  return store;
}

Store::ReadLease::~ReadLease() {
  absl::MutexLock lock(&store_.pool_mu_);
  store_.idle_.push_back(std::move(db_));
}

Store::ReadLease Store::Read() {
  absl::MutexLock lock(&pool_mu_);
  pool_mu_.Await(absl::Condition(
      +[](std::vector<std::unique_ptr<Database>>* idle) { return !idle->empty(); }, &idle_));
  std::unique_ptr<Database> db = std::move(idle_.back());
  idle_.pop_back();
  return ReadLease(*this, std::move(db));
}

absl::Status Store::Check() {
  ReadLease lease = Read();
  ASSIGN_OR_RETURN(auto stmt, lease.db().Prepare("SELECT COUNT(*) FROM activity"));
  return stmt.Step().status();
}

}  // namespace dorset::engagement
