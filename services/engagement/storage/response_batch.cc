#include "services/engagement/storage/response_batch.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/counter_rows.h"
#include "services/engagement/storage/response_rows.h"

namespace dorset::engagement {

using runtime::storage::Statement;

struct ResponseBatch::Statements {
  runtime::storage::IdempotencyRecord requests;
  Statement activity_window;    // (id) -> state, window_start, window_end, allowed_practices
  Statement theme_exists;       // (activity, theme)
  Statement stakeholder_state;  // (id) -> erased
  std::optional<Statement> insert_response;               // PostgreSQL: one response, RETURNING id
  std::optional<Statement> max_id;                        // SQLite: the table's largest id
  runtime::storage::MultiRowStatements insert_responses;  // SQLite: InsertResponses()
  runtime::storage::MultiRowStatements bump_counters;     // BumpCountersInsert()
};

namespace {

// SQLite's rows of a group's responses, written by Flush (ResponseBatch::InsertResponse).
const runtime::storage::MultiRowInsert& InsertResponses() {
  static const runtime::storage::MultiRowInsert insert(
      "INSERT INTO response (id, activity_id, stakeholder_id, text, channel, locality, practice, "
      "themes, sentiment, publish_consent, create_time, update_time, theme_assignments, version) "
      "VALUES ",
      14);
  return insert;
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
  ASSIGN_OR_RETURN(
      Statement activity_window,
      tx_.Prepare("SELECT state, window_start, window_end, allowed_practices FROM activity "
                  "WHERE id = ?"));
  ASSIGN_OR_RETURN(Statement theme_exists,
                   tx_.Prepare("SELECT 1 FROM theme WHERE activity_id = ? AND id = ?"));
  ASSIGN_OR_RETURN(Statement stakeholder_state,
                   tx_.Prepare("SELECT erased FROM stakeholder WHERE id = ?"));
  // PostgreSQL: each response's INSERT ... RETURNING id in its part (its savepoint); SQLite:
  // the rows kept and written by Flush (InsertResponse), the ids counted on from max(id).
  std::optional<Statement> insert_response, max_id;
  if (tx_.engine() == runtime::storage::Engine::kSqlite) {
    ASSIGN_OR_RETURN(max_id, tx_.Prepare("SELECT max(id) FROM response"));
  } else {
    ASSIGN_OR_RETURN(
        insert_response,
        tx_.Prepare("INSERT INTO response (activity_id, stakeholder_id, text, channel, locality, "
                    "practice, themes, sentiment, publish_consent, create_time, update_time, "
                    "theme_assignments, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1) RETURNING id"));
  }
  statements_.reset(
      new Statements{std::move(requests), std::move(activity_window), std::move(theme_exists),
                     std::move(stakeholder_state), std::move(insert_response), std::move(max_id),
                     runtime::storage::MultiRowStatements(InsertResponses(), tx_),
                     runtime::storage::MultiRowStatements(BumpCountersInsert(), tx_)});
  return statements_.get();
}

absl::StatusOr<const ResponseBatch::Window*> ResponseBatch::ActivityWindow(
    const std::string& activity) {
  if (auto cached = windows_.find(activity); cached != windows_.end()) return &cached->second;
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  Window loaded;
  st->activity_window.Reset();
  st->activity_window.Bind(1, activity);
  ASSIGN_OR_RETURN(loaded.found, st->activity_window.Step());
  if (loaded.found) {
    loaded.state = static_cast<v1::ActivityState>(st->activity_window.Int(0));
    loaded.start = st->activity_window.OptionalInt(1);
    loaded.end = st->activity_window.OptionalInt(2);
    for (std::string& p : SplitList(st->activity_window.Text(3))) {
      loaded.allowed_practices.insert(std::move(p));
    }
  }
  st->activity_window.Reset();
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
  st->theme_exists.Reset();
  st->theme_exists.Bind(1, activity).Bind(2, theme);
  ASSIGN_OR_RETURN(bool found, st->theme_exists.Step());
  st->theme_exists.Reset();
  if (found) themes_found_[activity].insert(theme);
  return found;
}

absl::StatusOr<std::optional<bool>> ResponseBatch::StakeholderErased(const std::string& id) {
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  st->stakeholder_state.Reset();
  st->stakeholder_state.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, st->stakeholder_state.Step());
  std::optional<bool> erased;
  if (found) erased = st->stakeholder_state.Int(0) != 0;
  st->stakeholder_state.Reset();
  return erased;
}

absl::StatusOr<std::optional<std::string>> ResponseBatch::FindRequest(
    const runtime::storage::RequestKey& key) {
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  return st->requests.Find(key);
}

absl::Status ResponseBatch::PrefetchRequests(std::span<const std::string> request_ids) {
  if (tx_.engine() != runtime::storage::Engine::kPostgres) return absl::OkStatus();
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  return st->requests.Prefetch(request_ids);
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
    kept_.push_back({.id = *next_id_,
                     .activity = &activity,
                     .stakeholder_id = &stakeholder_id,
                     .response = &r,
                     .themes = JoinList(theme_ids),
                     .assignments = EncodeThemeAssignments(r.theme_assignments()),
                     .now = now});
    return (*next_id_)++;
  }
  Statement& insert = *st->insert_response;
  // Every run below resets the statement whatever its outcome (and the connection lends its
  // statements reset), so it comes here reset. Every text is bound without a copy: `activity`,
  // `r` and these two outlive the statement's run and reset.
  const std::string themes = JoinList(theme_ids);
  const std::string assignments = EncodeThemeAssignments(r.theme_assignments());
  insert.BindKept(1, activity);
  if (stakeholder_id.empty()) {
    insert.BindNull(2);
  } else {
    insert.BindKept(2, stakeholder_id);
  }
  insert.BindKept(3, r.text())
      .Bind(4, static_cast<int64_t>(r.channel()))
      .BindKept(5, r.locality())
      .BindKept(6, r.practice())
      .BindKept(7, themes)
      .Bind(8, static_cast<int64_t>(r.sentiment()))
      .Bind(9, static_cast<int64_t>(r.publish_consent()))
      .Bind(10, now)
      .Bind(11, now)
      .BindKept(12, assignments);
  absl::StatusOr<bool> inserted = insert.Step();
  const int64_t id = inserted.ok() && *inserted ? insert.Int(0) : 0;
  insert.Reset();
  if (!inserted.ok()) return inserted.status();
  if (!*inserted) return absl::InternalError("INSERT ... RETURNING id gave no row");
  return id;
}

absl::Status ResponseBatch::WriteKept() {
  if (kept_.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(Statements * st, Prepared());
  // The kept rows and what they view are unchanged until each statement has run and been reset.
  RETURN_IF_ERROR(st->insert_responses.Run(
      kept_.size(), [this](runtime::storage::Statement& s, size_t row, int first) {
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
      }));
  kept_.clear();
  return absl::OkStatus();
}

absl::StatusOr<v1::Response> ResponseBatch::LoadResponse(const std::string& activity, int64_t id) {
  RETURN_IF_ERROR(WriteKept());
  return engagement::LoadResponse(tx_, activity, id);
}

absl::StatusOr<absl::Status> ResponseBatch::InPart(absl::FunctionRef<absl::Status()> fn) {
  // Prepared before the part (outside any savepoint): the part holds only the response's own
  // statements.
  RETURN_IF_ERROR(Prepared().status());
  return tx_.InOneWritePart(fn);
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
  RETURN_IF_ERROR(WriteKept());
  RETURN_IF_ERROR(st->requests.Flush());
  if (sums_.empty()) return absl::OkStatus();
  return ApplySums(st->bump_counters, sums_);
}

}  // namespace dorset::engagement
