#include "services/engagement/storage/response_batch.h"

#include <limits>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/data_version.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/counter_rows.h"
#include "services/engagement/storage/response_rows.h"

namespace dorset::engagement {

using runtime::storage::Statement;

struct ResponseBatch::Statements {
  runtime::storage::IdempotencyRecord requests;
  Statement activity_window;                              // kActivityWindow
  Statement theme_exists;                                 // kThemeExists
  Statement stakeholder_state;                            // kStakeholderState
  std::optional<Statement> max_id;                        // SQLite: the table's largest id
  std::optional<Statement> next_ids;                      // PostgreSQL: kNextIds
  runtime::storage::MultiRowStatements insert_responses;  // InsertResponses()
  runtime::storage::MultiRowStatements bump_counters;     // BumpCountersInsert()
};

// PostgreSQL: the reads WillRead was told of (views of the group's strings), then each sent
// ahead in a statement of its own (the statement texts the parts use), taken at the first ask.
struct ResponseBatch::Ahead {
  std::vector<std::string> request_ids;
  size_t responses = 0;
  absl::flat_hash_map<std::string_view, std::optional<Statement>> windows;  // by activity
  absl::flat_hash_map<std::pair<std::string_view, std::string_view>, std::optional<Statement>>
      themes;  // by (activity, theme)
  absl::flat_hash_map<std::string_view, std::optional<Statement>> stakeholders;  // by id
  std::optional<Statement> version;
  std::optional<uint64_t> version_read;
  bool ids = false;  // Statements::next_ids was sent ahead
};

namespace {

constexpr char kActivityWindow[] =  // (id) -> state, window_start, window_end, allowed_practices
    "SELECT state, window_start, window_end, allowed_practices FROM activity WHERE id = ?";
constexpr char kThemeExists[] = "SELECT 1 FROM theme WHERE activity_id = ? AND id = ?";
constexpr char kStakeholderState[] = "SELECT erased FROM stakeholder WHERE id = ?";
// (n) -> n ids of the response table's identity, in the order given out. The sequence is
// found once a statement (a materialized CTE, as a regclass): a subquery was flattened into
// the select list, which looked the name up and cast it again for every id (~5 µs an id,
// bench/README.md "Session 25").
constexpr char kNextIds[] =
    "WITH s AS MATERIALIZED (SELECT CAST(pg_get_serial_sequence('response', 'id') AS regclass) "
    "AS seq) SELECT nextval(s.seq) FROM s, generate_series(1, CAST(? AS BIGINT)) ORDER BY 1";

// The rows of a group's responses, written by Flush (ResponseBatch::InsertResponse): on
// PostgreSQL as one `unnest` statement.
const runtime::storage::MultiRowInsert& InsertResponses() {
  static const runtime::storage::MultiRowInsert insert(
      "INSERT INTO response (id, activity_id, stakeholder_id, text, channel, locality, practice, "
      "themes, sentiment, publish_consent, create_time, update_time, theme_assignments, version) "
      "VALUES ",
      14, "",
      {"bigint", "text", "text", "text", "bigint", "text", "text", "text", "bigint", "bigint",
       "bigint", "bigint", "text", "bigint"});
  return insert;
}

// The statement sent ahead for `key`, taken out of `sent` (its result is read once); null when
// none was.
template <typename Map, typename Key>
std::optional<Statement> TakeSent(Map& sent, const Key& key) {
  auto it = sent.find(key);
  if (it == sent.end()) return std::nullopt;
  std::optional<Statement> statement = std::move(it->second);
  sent.erase(it);
  return statement;
}

}  // namespace

ResponseBatch::ResponseBatch(runtime::storage::Transaction& tx) : tx_(tx) {}
ResponseBatch::~ResponseBatch() = default;

absl::StatusOr<ResponseBatch::Statements*> ResponseBatch::Prepared() {
  if (statements_ != nullptr) return statements_.get();
  // Its lookups deferred when the group committer allows it (idempotency.h): Flush, which the
  // group runs after its last response, finds out whether a request was seen before.
  ASSIGN_OR_RETURN(runtime::storage::IdempotencyRecord requests,
                   runtime::storage::IdempotencyRecord::Prepare(
                       tx_, runtime::storage::IdempotencyRecord::Lookups::kDeferred));
  ASSIGN_OR_RETURN(Statement activity_window, tx_.Prepare(kActivityWindow));
  ASSIGN_OR_RETURN(Statement theme_exists, tx_.Prepare(kThemeExists));
  ASSIGN_OR_RETURN(Statement stakeholder_state, tx_.Prepare(kStakeholderState));
  // The rows are kept and written by Flush (InsertResponse): on SQLite under ids counted on
  // from max(id), on PostgreSQL under ids taken from the sequence.
  std::optional<Statement> max_id, next_ids;
  if (tx_.engine() == runtime::storage::Engine::kSqlite) {
    ASSIGN_OR_RETURN(max_id, tx_.Prepare("SELECT max(id) FROM response"));
  } else {
    ASSIGN_OR_RETURN(next_ids, tx_.Prepare(kNextIds));
  }
  statements_.reset(
      new Statements{std::move(requests), std::move(activity_window), std::move(theme_exists),
                     std::move(stakeholder_state), std::move(max_id), std::move(next_ids),
                     runtime::storage::MultiRowStatements(InsertResponses(), tx_),
                     runtime::storage::MultiRowStatements(BumpCountersInsert(), tx_)});
  return statements_.get();
}

void ResponseBatch::WillRead(const std::string& request_id, const std::string& activity,
                             const std::vector<std::string>& theme_ids,
                             const std::string& stakeholder_id) {
  if (tx_.engine() != runtime::storage::Engine::kPostgres) return;
  if (ahead_ == nullptr) ahead_ = std::make_unique<Ahead>();
  Ahead& a = *ahead_;
  if (!request_id.empty()) a.request_ids.push_back(request_id);
  ++a.responses;
  a.windows.try_emplace(activity);
  for (const std::string& theme : theme_ids)
    a.themes.try_emplace(std::pair<std::string_view, std::string_view>(activity, theme));
  if (!stakeholder_id.empty()) a.stakeholders.try_emplace(stakeholder_id);
}

absl::Status ResponseBatch::ReadAhead() {
  if (ahead_ == nullptr) return absl::OkStatus();
  // Every statement is prepared first: a statement prepared while others are in the pipeline
  // would read them back first.
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  // What the group sends from here on (these reads; then Flush's writes, the bump, the audit
  // rows) goes with the next read or the commit, bar the first after a read (the reads' first,
  // the response rows' INSERT, which the server starts on while the rest is built): about four
  // writes a group, where a flush a statement cost ~13, the send calls ~1/3 of the writer
  // thread's CPU (bench/README.md, session 25: PostgreSQL responses).
  tx_.HoldSends();
  Ahead& a = *ahead_;
  RETURN_IF_ERROR(st->requests.SendPrefetch(a.request_ids));
  ASSIGN_OR_RETURN(a.version, runtime::storage::SendDataVersionRead(tx_));
  const auto send = [this](std::optional<Statement>& slot, const char* sql,
                           auto&&... values) -> absl::Status {
    ASSIGN_OR_RETURN(slot, tx_.Prepare(sql));
    int index = 0;
    (slot->Bind(++index, values), ...);
    return slot->SendAhead();
  };
  for (auto& [activity, slot] : a.windows) RETURN_IF_ERROR(send(slot, kActivityWindow, activity));
  for (auto& [key, slot] : a.themes)
    RETURN_IF_ERROR(send(slot, kThemeExists, key.first, key.second));
  for (auto& [id, slot] : a.stakeholders) RETURN_IF_ERROR(send(slot, kStakeholderState, id));
  if (a.responses > 0) {
    st->next_ids->Reset();
    st->next_ids->Bind(1, static_cast<int64_t>(a.responses));
    RETURN_IF_ERROR(st->next_ids->SendAhead());
    a.ids = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<uint64_t>> ResponseBatch::StartVersion() {
  if (ahead_ == nullptr) return std::optional<uint64_t>();
  if (ahead_->version.has_value()) {
    absl::StatusOr<uint64_t> read = runtime::storage::TakeDataVersion(*ahead_->version);
    ahead_->version.reset();
    if (!read.ok()) return read.status();
    ahead_->version_read = *read;
  }
  return ahead_->version_read;
}

absl::StatusOr<int64_t> ResponseBatch::NextId(Statements& st) {
  Statement& next_ids = *st.next_ids;
  if (ids_used_ == ids_.size()) {
    if (ahead_ == nullptr || !std::exchange(ahead_->ids, false)) {
      // More responses than ReadAhead was told of: one more id, at once.
      next_ids.Reset();
      next_ids.Bind(1, int64_t{1});
    }
    ids_.clear();
    ids_used_ = 0;
    while (true) {
      absl::StatusOr<bool> row = next_ids.Step();
      if (!row.ok()) {
        next_ids.Reset();
        return row.status();
      }
      if (!*row) break;
      ids_.push_back(next_ids.Int(0));
    }
    next_ids.Reset();
    if (ids_.empty()) return absl::InternalError("the response sequence gave no id");
  }
  return ids_[ids_used_++];
}

absl::StatusOr<const ResponseBatch::Window*> ResponseBatch::ActivityWindow(
    const std::string& activity) {
  if (auto cached = windows_.find(activity); cached != windows_.end()) return &cached->second;
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  std::optional<Statement> sent;
  if (ahead_ != nullptr) sent = TakeSent(ahead_->windows, std::string_view(activity));
  Statement& read = sent.has_value() ? *sent : st->activity_window;
  if (!sent.has_value()) {
    read.Reset();
    read.Bind(1, activity);
  }
  Window loaded;
  absl::StatusOr<bool> found = read.Step();
  if (found.ok() && *found) {
    loaded.found = true;
    loaded.state = static_cast<v1::ActivityState>(read.Int(0));
    loaded.start = read.OptionalInt(1);
    loaded.end = read.OptionalInt(2);
    for (std::string& p : SplitList(read.Text(3))) loaded.allowed_practices.insert(std::move(p));
  }
  read.Reset();
  if (!found.ok()) return found.status();
  return &(windows_[activity] = std::move(loaded));
}

absl::StatusOr<bool> ResponseBatch::ThemeExists(const std::string& activity,
                                                const std::string& theme) {
  // A theme found once stays found for the rest of the transaction (themes are removed only in
  // transactions of their own), so the group's responses ask the store once per theme.
  if (auto known = themes_found_.find(activity);
      known != themes_found_.end() && known->second.contains(theme)) {
    return true;
  }
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  std::optional<Statement> sent;
  if (ahead_ != nullptr) {
    sent = TakeSent(ahead_->themes, std::pair<std::string_view, std::string_view>(activity, theme));
  }
  Statement& read = sent.has_value() ? *sent : st->theme_exists;
  if (!sent.has_value()) {
    read.Reset();
    read.Bind(1, activity).Bind(2, theme);
  }
  absl::StatusOr<bool> found = read.Step();
  read.Reset();
  if (!found.ok()) return found.status();
  if (*found) themes_found_[activity].insert(theme);
  return *found;
}

absl::StatusOr<std::optional<bool>> ResponseBatch::StakeholderErased(const std::string& id) {
  // Read once a transaction: a group of responses erases nobody.
  if (auto known = stakeholders_.find(id); known != stakeholders_.end()) return known->second;
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  std::optional<Statement> sent;
  if (ahead_ != nullptr) sent = TakeSent(ahead_->stakeholders, std::string_view(id));
  Statement& read = sent.has_value() ? *sent : st->stakeholder_state;
  if (!sent.has_value()) {
    read.Reset();
    read.Bind(1, id);
  }
  absl::StatusOr<bool> found = read.Step();
  std::optional<bool> erased;
  if (found.ok() && *found) erased = read.Int(0) != 0;
  read.Reset();
  if (!found.ok()) return found.status();
  stakeholders_.emplace(id, erased);
  return erased;
}

absl::StatusOr<std::optional<std::string>> ResponseBatch::FindRequest(
    const runtime::storage::RequestKey& key) {
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  return st->requests.Find(key);
}

absl::Status ResponseBatch::StoreRequest(const runtime::storage::RequestKey& key,
                                         const std::string& name, int64_t now) {
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  st->requests.StoreLater(key, name, now);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ResponseBatch::InsertResponse(const std::string& activity,
                                                      const std::string& stakeholder_id,
                                                      const v1::Response& r,
                                                      const std::vector<std::string>& theme_ids,
                                                      int64_t now) {
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  int64_t id = 0;
  if (st->max_id.has_value()) {
    if (!next_id_.has_value()) {
      // The id SQLite gives a row without one: the largest plus one (1 in an empty table). This
      // transaction is the only writer until it commits, so the ids counted on from it are
      // those the rows would have got one INSERT at a time.
      Statement& max_id = *st->max_id;
      absl::StatusOr<bool> row = max_id.Step();
      const std::optional<int64_t> largest =
          row.ok() && *row ? max_id.OptionalInt(0) : std::nullopt;
      max_id.Reset();
      if (!row.ok()) return row.status();
      if (largest == std::numeric_limits<int64_t>::max()) {
        return absl::InternalError("response ids are used up");
      }
      next_id_ = largest.value_or(0) + 1;
    }
    id = (*next_id_)++;
  } else {
    // PostgreSQL: the identity's own sequence, as an INSERT without an id would have used.
    ASSIGN_OR_RETURN(id, NextId(*st));
  }
  kept_.push_back({.id = id,
                   .activity = &activity,
                   .stakeholder_id = &stakeholder_id,
                   .response = &r,
                   .themes = JoinList(theme_ids),
                   .assignments = EncodeThemeAssignments(r.theme_assignments()),
                   .now = now});
  return id;
}

absl::Status ResponseBatch::WriteKept(bool send) {
  if (kept_.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  // The kept rows and what they view are unchanged until each statement has run (or been sent)
  // and been reset.
  const auto bind = [this](runtime::storage::Statement& s, size_t row, int first) {
    const KeptResponse& k = kept_[row];
    const v1::Response& r = *k.response;
    s.Bind(first, k.id).BindKept(first + 1, *k.activity);
    if (k.stakeholder_id->empty()) {
      s.BindNull(first + 2);
    } else {
      s.BindKept(first + 2, *k.stakeholder_id);
    }
    s.BindKept(first + 3, r.text())
        .Bind(first + 4, static_cast<int64_t>(r.channel()))
        .BindKept(first + 5, r.locality())
        .BindKept(first + 6, r.practice())
        .BindKept(first + 7, k.themes)
        .Bind(first + 8, static_cast<int64_t>(r.sentiment()))
        .Bind(first + 9, static_cast<int64_t>(r.publish_consent()))
        .Bind(first + 10, k.now)
        .Bind(first + 11, k.now)
        .BindKept(first + 12, k.assignments)
        .Bind(first + 13, int64_t{1});
  };
  RETURN_IF_ERROR(send ? st->insert_responses.Send(kept_.size(), bind)
                       : st->insert_responses.Run(kept_.size(), bind));
  kept_.clear();
  return absl::OkStatus();
}

absl::StatusOr<v1::Response> ResponseBatch::LoadResponse(const std::string& activity, int64_t id) {
  RETURN_IF_ERROR(WriteKept(/*send=*/false));
  return engagement::LoadResponse(tx_, activity, id);
}

absl::StatusOr<absl::Status> ResponseBatch::InPart(absl::FunctionRef<absl::Status()> fn) {
  // Prepared before the part: the part holds only the response's own statements.
  RETURN_IF_ERROR(Prepared().status());
  return tx_.InPartWritingLater(fn);
}

void ResponseBatch::AddToCounters(const std::string& activity, v1::Channel channel,
                                  v1::Sentiment sentiment, const std::string& locality,
                                  const std::vector<std::string>& theme_ids) {
  ForEachCounterCell(channel, sentiment, locality, theme_ids,
                     [this, &activity](std::string_view dimension, std::string_view key) {
                       AddCell(sums_, activity, dimension, key, 1);
                     });
}

absl::Status ResponseBatch::Flush() {
  if (statements_ == nullptr && sums_.empty()) return absl::OkStatus();  // nothing kept
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  // PostgreSQL: sent, so they go in one round trip with the data version's bump and the commit
  // (issue 16); SQLite runs them.
  const bool send = tx_.engine() == runtime::storage::Engine::kPostgres;
  RETURN_IF_ERROR(WriteKept(send));
  RETURN_IF_ERROR(send ? st->requests.SendFlush() : st->requests.Flush());
  if (sums_.empty()) return absl::OkStatus();
  return ApplySums(st->bump_counters, sums_, send);
}

}  // namespace dorset::engagement
