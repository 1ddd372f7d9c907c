// Themes (what responses are about) and decisions (what was decided because of them).
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/api/request_id.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/keyset_page.h"
#include "services/engagement/counters.h"
#include "services/engagement/engagement.h"
#include "services/engagement/names.h"
#include "services/engagement/rows.h"
#include "services/engagement/storage/counter_rows.h"
#include "services/engagement/storage/requests.h"

namespace dorset::engagement {
namespace {

using runtime::storage::KeysetPage;
using runtime::storage::Statement;
using runtime::storage::Transaction;

constexpr char kThemeColumns[] =
    "activity_id, id, display_name, description, create_time, update_time, version";
constexpr char kDecisionColumns[] =
    "activity_id, id, summary, rationale, themes, responses, decided_by, decide_time, published, "
    "create_time, update_time, version";

v1::Theme ThemeFromRow(const Statement& s) {
  v1::Theme t;
  t.set_name(ThemeName(s.Text(0), s.Text(1)));
  t.set_display_name(s.Text(2));
  t.set_description(s.Text(3));
  SetTimestamp(t.mutable_create_time(), s.Int(4));
  SetTimestamp(t.mutable_update_time(), s.Int(5));
  t.set_etag(Etag(s.Int(6)));
  return t;
}

v1::Decision DecisionFromRow(const Statement& s) {
  v1::Decision d;
  const std::string activity = s.Text(0);
  d.set_name(DecisionName(activity, s.Text(1)));
  d.set_summary(s.Text(2));
  d.set_rationale(s.Text(3));
  for (const std::string& t : SplitList(s.Text(4))) d.add_themes(ThemeName(activity, t));
  for (const std::string& r : SplitList(s.Text(5))) {
    d.add_responses(absl::StrCat(ActivityName(activity), "/responses/", r));
  }
  d.set_decided_by(s.Text(6));
  if (!s.IsNull(7)) SetTimestamp(d.mutable_decide_time(), s.Int(7));
  d.set_published(s.Int(8) != 0);
  SetTimestamp(d.mutable_create_time(), s.Int(9));
  SetTimestamp(d.mutable_update_time(), s.Int(10));
  d.set_etag(Etag(s.Int(11)));
  return d;
}

int64_t VersionOf(const std::string& etag) {
  int64_t version = 0;
  for (char c : etag) {
    if (c >= '0' && c <= '9') version = version * 10 + (c - '0');
  }
  return version;
}

absl::StatusOr<v1::Theme> LoadTheme(Transaction& tx, const ChildName& name) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare(absl::StrCat("SELECT ", kThemeColumns,
                                           " FROM theme WHERE activity_id = ? AND id = ?")));
  stmt.Bind(1, name.activity).Bind(2, name.id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound("Theme", ThemeName(name.activity, name.id));
  return ThemeFromRow(stmt);
}

absl::StatusOr<v1::Decision> LoadDecision(Transaction& tx, const ChildName& name) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare(absl::StrCat("SELECT ", kDecisionColumns,
                                           " FROM decision WHERE activity_id = ? AND id = ?")));
  stmt.Bind(1, name.activity).Bind(2, name.id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound("Decision", DecisionName(name.activity, name.id));
  return DecisionFromRow(stmt);
}

absl::Status RequireActivity(Transaction& tx, const std::string& activity) {
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT 1 FROM activity WHERE id = ?"));
  stmt.Bind(1, activity);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound("Activity", ActivityName(activity));
  return absl::OkStatus();
}

absl::Status ValidateTheme(const v1::Theme& t) {
  if (t.display_name().empty()) return runtime::InvalidArgument("theme.display_name", "required");
  RETURN_IF_ERROR(CheckText(t.display_name(), 200, "theme.display_name"));
  return CheckText(t.description(), 5000, "theme.description");
}

absl::Status SaveTheme(Transaction& tx, const std::string& activity, const std::string& id,
                       const v1::Theme& t, int64_t version, bool insert) {
  const char* sql = insert ? "INSERT INTO theme (display_name, description, create_time, "
                             "update_time, version, activity_id, id) VALUES (?,?,?,?,?,?,?)"
                           : "UPDATE theme SET display_name=?, description=?, create_time=?, "
                             "update_time=?, version=? WHERE activity_id=? AND id=?";
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
  stmt.Bind(1, t.display_name())
      .Bind(2, t.description())
      .Bind(3, t.create_time().seconds() * 1000000 + t.create_time().nanos() / 1000)
      .Bind(4, t.update_time().seconds() * 1000000 + t.update_time().nanos() / 1000)
      .Bind(5, version)
      .Bind(6, activity)
      .Bind(7, id);
  return stmt.Run();
}

// Checks a decision's references (themes and responses of the same activity, existing) and
// returns them as stored ids.
struct DecisionRefs {
  std::vector<std::string> themes;
  std::vector<std::string> responses;
};

absl::StatusOr<DecisionRefs> CheckDecisionRefs(Transaction& tx, const std::string& activity,
                                               const v1::Decision& d) {
  DecisionRefs refs;
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < d.themes_size(); ++i) {
    const std::string field = absl::StrCat("decision.themes[", i, "]");
    ASSIGN_OR_RETURN(ChildName theme, ParseThemeName(d.themes(i), field));
    if (theme.activity != activity) {
      return runtime::InvalidArgument(field, "must be a theme of the same activity");
    }
    if (!seen.insert(d.themes(i)).second) return runtime::InvalidArgument(field, "listed twice");
    absl::Status found = LoadTheme(tx, theme).status();
    if (absl::IsNotFound(found)) return runtime::InvalidArgument(field, "no such theme");
    RETURN_IF_ERROR(found);
    refs.themes.push_back(theme.id);
  }
  for (int i = 0; i < d.responses_size(); ++i) {
    const std::string field = absl::StrCat("decision.responses[", i, "]");
    ASSIGN_OR_RETURN(ResponseId response, ParseResponseName(d.responses(i), field));
    if (response.activity != activity) {
      return runtime::InvalidArgument(field, "must be a response to the same activity");
    }
    if (!seen.insert(d.responses(i)).second) return runtime::InvalidArgument(field, "listed twice");
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare("SELECT 1 FROM response WHERE id = ? AND activity_id = ?"));
    stmt.Bind(1, response.id).Bind(2, activity);
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return runtime::InvalidArgument(field, "no such response");
    refs.responses.push_back(absl::StrCat(response.id));
  }
  if (refs.themes.size() > 100 || refs.responses.size() > 1000) {
    return runtime::InvalidArgument("decision", "at most 100 themes and 1000 responses");
  }
  return refs;
}

absl::Status ValidateDecision(const v1::Decision& d) {
  if (d.summary().empty()) return runtime::InvalidArgument("decision.summary", "required");
  RETURN_IF_ERROR(CheckText(d.summary(), 5000, "decision.summary"));
  RETURN_IF_ERROR(CheckText(d.rationale(), 20000, "decision.rationale"));
  RETURN_IF_ERROR(CheckText(d.decided_by(), 300, "decision.decided_by"));
  if (d.has_decide_time()) {
    RETURN_IF_ERROR(TimestampMicros(d.decide_time(), "decision.decide_time").status());
  }
  return absl::OkStatus();
}

absl::Status SaveDecision(Transaction& tx, const std::string& activity, const std::string& id,
                          const v1::Decision& d, const DecisionRefs& refs, int64_t version,
                          bool insert) {
  const char* sql =
      insert ? "INSERT INTO decision (summary, rationale, themes, responses, decided_by, "
               "decide_time, published, create_time, update_time, version, activity_id, id) "
               "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
             : "UPDATE decision SET summary=?, rationale=?, themes=?, responses=?, decided_by=?, "
               "decide_time=?, published=?, create_time=?, update_time=?, version=? "
               "WHERE activity_id=? AND id=?";
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
  std::optional<int64_t> decide;
  if (d.has_decide_time()) {
    decide = d.decide_time().seconds() * 1000000 + d.decide_time().nanos() / 1000;
  }
  stmt.Bind(1, d.summary())
      .Bind(2, d.rationale())
      .Bind(3, JoinList(refs.themes))
      .Bind(4, JoinList(refs.responses))
      .Bind(5, d.decided_by())
      .Bind(6, decide)
      .Bind(7, static_cast<int64_t>(d.published()))
      .Bind(8, d.create_time().seconds() * 1000000 + d.create_time().nanos() / 1000)
      .Bind(9, d.update_time().seconds() * 1000000 + d.update_time().nanos() / 1000)
      .Bind(10, version)
      .Bind(11, activity)
      .Bind(12, id);
  return stmt.Run();
}

}  // namespace

absl::Status Engagement::CreateTheme(const runtime::Caller& caller,
                                     const v1::CreateThemeRequest& request, v1::Theme* out) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  v1::Theme t = request.theme();
  RETURN_IF_ERROR(ValidateTheme(t));
  if (!request.theme_id().empty() && !IsValidId(request.theme_id())) {
    return runtime::InvalidArgument("theme_id", "must match [a-z][a-z0-9-]{0,62}");
  }
  const std::string id = request.theme_id().empty() ? NewId('t') : request.theme_id();
  const int64_t now = ToMicros(Now());
  SetTimestamp(t.mutable_create_time(), now);
  SetTimestamp(t.mutable_update_time(), now);
  return store_.Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(RequireActivity(tx, activity));
    ASSIGN_OR_RETURN(auto previous, FindRequest(tx, "CreateTheme", caller.principal,
                                                request.request_id(), request));
    ChildName name{activity, id};
    if (previous.has_value()) {
      ASSIGN_OR_RETURN(name, ParseThemeName(*previous, "request_id"));
    } else {
      absl::Status saved = SaveTheme(tx, activity, id, t, 1, /*insert=*/true);
      if (absl::IsAlreadyExists(saved)) {
        return runtime::AlreadyExists("Theme", ThemeName(activity, id));
      }
      RETURN_IF_ERROR(saved);
      RETURN_IF_ERROR(RecordRequest(tx, "CreateTheme", caller.principal, request.request_id(),
                                    request, ThemeName(activity, id), now));
    }
    ASSIGN_OR_RETURN(*out, LoadTheme(tx, name));
    return absl::OkStatus();
  });
}

absl::Status Engagement::GetTheme(const v1::GetThemeRequest& request, v1::Theme* out) {
  ASSIGN_OR_RETURN(ChildName name, ParseThemeName(request.name(), "name"));
  return store_.Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(*out, LoadTheme(tx, name));
    return absl::OkStatus();
  });
}

absl::Status Engagement::ListThemes(const v1::ListThemesRequest& request,
                                    v1::ListThemesResponse* out) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  ASSIGN_OR_RETURN(
      KeysetPage page,
      KeysetPage::Start(page_tokens_, absl::StrCat("themes|", activity), request.page_size(),
                        request.page_token(),
                        {.default_size = 100, .max_size = 500, .max_bytes = options_.reply_bytes}));
  return store_.Read([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(RequireActivity(tx, activity));
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare(absl::StrCat(
                         "SELECT ", kThemeColumns,
                         " FROM theme WHERE activity_id = ? AND id > ? ORDER BY id LIMIT ?")));
    stmt.Bind(1, activity).Bind(2, page.after()).Bind(3, page.fetch_limit());
    return page.Collect(
        stmt, ThemeFromRow, [](const Statement& row) { return row.Text(1); },
        *out->mutable_themes(), out->mutable_next_page_token());
  });
}

absl::Status Engagement::UpdateTheme(const v1::UpdateThemeRequest& request, v1::Theme* out) {
  const v1::Theme& in = request.theme();
  ASSIGN_OR_RETURN(ChildName name, ParseThemeName(in.name(), "theme.name"));
  RETURN_IF_ERROR(CheckMask(request.update_mask(), {"display_name", "description"}, "Theme"));
  const int64_t now = ToMicros(Now());
  return store_.Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Theme t, LoadTheme(tx, name));
    const int64_t version = VersionOf(t.etag());
    RETURN_IF_ERROR(CheckEtag("Theme", t.name(), in.etag(), version));
    if (MaskHas(request.update_mask(), "display_name")) t.set_display_name(in.display_name());
    if (MaskHas(request.update_mask(), "description")) t.set_description(in.description());
    RETURN_IF_ERROR(ValidateTheme(t));
    SetTimestamp(t.mutable_update_time(), now);
    RETURN_IF_ERROR(SaveTheme(tx, name.activity, name.id, t, version + 1, /*insert=*/false));
    ASSIGN_OR_RETURN(*out, LoadTheme(tx, name));
    return absl::OkStatus();
  });
}

absl::Status Engagement::CreateDecision(const runtime::Caller& caller,
                                        const v1::CreateDecisionRequest& request,
                                        v1::Decision* out) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  v1::Decision d = request.decision();
  RETURN_IF_ERROR(ValidateDecision(d));
  if (!request.decision_id().empty() && !IsValidId(request.decision_id())) {
    return runtime::InvalidArgument("decision_id", "must match [a-z][a-z0-9-]{0,62}");
  }
  const std::string id = request.decision_id().empty() ? NewId('d') : request.decision_id();
  const int64_t now = ToMicros(Now());
  SetTimestamp(d.mutable_create_time(), now);
  SetTimestamp(d.mutable_update_time(), now);
  return store_.Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(RequireActivity(tx, activity));
    ASSIGN_OR_RETURN(auto previous, FindRequest(tx, "CreateDecision", caller.principal,
                                                request.request_id(), request));
    ChildName name{activity, id};
    if (previous.has_value()) {
      ASSIGN_OR_RETURN(name, ParseDecisionName(*previous, "request_id"));
    } else {
      ASSIGN_OR_RETURN(DecisionRefs refs, CheckDecisionRefs(tx, activity, d));
      absl::Status saved = SaveDecision(tx, activity, id, d, refs, 1, /*insert=*/true);
      if (absl::IsAlreadyExists(saved)) {
        return runtime::AlreadyExists("Decision", DecisionName(activity, id));
      }
      RETURN_IF_ERROR(saved);
      RETURN_IF_ERROR(RecordRequest(tx, "CreateDecision", caller.principal, request.request_id(),
                                    request, DecisionName(activity, id), now));
      runtime::log::Info("decision recorded", {{"decision", DecisionName(activity, id)}});
    }
    ASSIGN_OR_RETURN(*out, LoadDecision(tx, name));
    return absl::OkStatus();
  });
}

absl::Status Engagement::GetDecision(const v1::GetDecisionRequest& request, v1::Decision* out) {
  ASSIGN_OR_RETURN(ChildName name, ParseDecisionName(request.name(), "name"));
  return store_.Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(*out, LoadDecision(tx, name));
    return absl::OkStatus();
  });
}

absl::Status Engagement::ListDecisions(const v1::ListDecisionsRequest& request,
                                       v1::ListDecisionsResponse* out) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  ASSIGN_OR_RETURN(
      KeysetPage page,
      KeysetPage::Start(page_tokens_, absl::StrCat("decisions|", activity), request.page_size(),
                        request.page_token(),
                        {.default_size = 100, .max_size = 500, .max_bytes = options_.reply_bytes}));
  return store_.Read([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(RequireActivity(tx, activity));
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare(absl::StrCat(
                         "SELECT ", kDecisionColumns,
                         " FROM decision WHERE activity_id = ? AND id > ? ORDER BY id LIMIT ?")));
    stmt.Bind(1, activity).Bind(2, page.after()).Bind(3, page.fetch_limit());
    return page.Collect(
        stmt, DecisionFromRow, [](const Statement& row) { return row.Text(1); },
        *out->mutable_decisions(), out->mutable_next_page_token());
  });
}

absl::Status Engagement::UpdateDecision(const v1::UpdateDecisionRequest& request,
                                        v1::Decision* out) {
  const v1::Decision& in = request.decision();
  ASSIGN_OR_RETURN(ChildName name, ParseDecisionName(in.name(), "decision.name"));
  const auto& mask = request.update_mask();
  RETURN_IF_ERROR(CheckMask(
      mask,
      {"summary", "rationale", "themes", "responses", "decided_by", "decide_time", "published"},
      "Decision"));
  const int64_t now = ToMicros(Now());
  return store_.Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Decision d, LoadDecision(tx, name));
    const int64_t version = VersionOf(d.etag());
    RETURN_IF_ERROR(CheckEtag("Decision", d.name(), in.etag(), version));
    if (MaskHas(mask, "summary")) d.set_summary(in.summary());
    if (MaskHas(mask, "rationale")) d.set_rationale(in.rationale());
    if (MaskHas(mask, "themes")) *d.mutable_themes() = in.themes();
    if (MaskHas(mask, "responses")) *d.mutable_responses() = in.responses();
    if (MaskHas(mask, "decided_by")) d.set_decided_by(in.decided_by());
    if (MaskHas(mask, "decide_time")) {
      if (in.has_decide_time()) {
        *d.mutable_decide_time() = in.decide_time();
      } else {
        d.clear_decide_time();
      }
    }
    if (MaskHas(mask, "published")) d.set_published(in.published());
    RETURN_IF_ERROR(ValidateDecision(d));
    ASSIGN_OR_RETURN(DecisionRefs refs, CheckDecisionRefs(tx, name.activity, d));
    SetTimestamp(d.mutable_update_time(), now);
    RETURN_IF_ERROR(
        SaveDecision(tx, name.activity, name.id, d, refs, version + 1, /*insert=*/false));
    ASSIGN_OR_RETURN(*out, LoadDecision(tx, name));
    return absl::OkStatus();
  });
}

absl::Status Engagement::DeleteTheme(const v1::DeleteThemeRequest& request,
                                     google::protobuf::Empty* out) {
  ASSIGN_OR_RETURN(ChildName name, ParseThemeName(request.name(), "name"));
  return store_.Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Theme t, LoadTheme(tx, name));
    RETURN_IF_ERROR(CheckEtag("Theme", t.name(), request.etag(), VersionOf(t.etag())));
    {
      ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT state FROM activity WHERE id = ?"));
      stmt.Bind(1, name.activity);
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row && stmt.Int(0) == v1::ACTIVITY_STATE_OUTCOME_PUBLISHED) {
        return runtime::FailedPrecondition(
            "STATE", t.name(),
            "the outcome is published; its themes are part of the public record");
      }
    }
    // Lists are '\n'-joined ids, so a whole id is the list, its head, its tail or between two
    // '\n's (ids have no LIKE wildcards: [a-z][a-z0-9-]*). The same SQL on both engines.
    constexpr char kTagged[] =
        "SELECT 1 FROM %s WHERE activity_id = ? AND "
        "(themes = ? OR themes LIKE ? OR themes LIKE ? OR themes LIKE ?) LIMIT 1";
    for (const auto& [table, why] :
         {std::pair<const char*, const char*>{
              "response",
              "responses are tagged with the theme; re-tag them first (UpdateResponse)"},
          {"decision", "a decision answers the theme; update or delete the decision first"}}) {
      ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(absl::StrFormat(kTagged, table)));
      stmt.Bind(1, name.activity)
          .Bind(2, name.id)
          .Bind(3, absl::StrCat(name.id, "\n%"))
          .Bind(4, absl::StrCat("%\n", name.id))
          .Bind(5, absl::StrCat("%\n", name.id, "\n%"));
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) return runtime::FailedPrecondition("IN_USE", t.name(), why);
    }
    {
      // Cells left at zero by moderation (a response re-tagged away from the theme).
      ASSIGN_OR_RETURN(Statement stmt,
                       tx.Prepare("DELETE FROM response_count WHERE activity_id = ? AND n = 0 AND "
                                  "((dimension = ? AND key = ?) OR "
                                  "(dimension = ? AND key LIKE ?))"));
      stmt.Bind(1, name.activity)
          .Bind(2, kDimTheme)
          .Bind(3, name.id)
          .Bind(4, kDimThemeSentiment)
          .Bind(5, absl::StrCat(name.id, "/%"));  // "<theme>/<sentiment>"
      RETURN_IF_ERROR(stmt.Run());
    }
    {
      ASSIGN_OR_RETURN(Statement stmt,
                       tx.Prepare("DELETE FROM theme WHERE activity_id = ? AND id = ?"));
      stmt.Bind(1, name.activity).Bind(2, name.id);
      RETURN_IF_ERROR(stmt.Run());
    }
    runtime::log::Info("theme deleted", {{"theme", t.name()}});
    out->Clear();
    return absl::OkStatus();
  });
}

absl::Status Engagement::DeleteDecision(const v1::DeleteDecisionRequest& request,
                                        google::protobuf::Empty* out) {
  ASSIGN_OR_RETURN(ChildName name, ParseDecisionName(request.name(), "name"));
  return store_.Write([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Decision d, LoadDecision(tx, name));
    RETURN_IF_ERROR(CheckEtag("Decision", d.name(), request.etag(), VersionOf(d.etag())));
    if (d.published()) {
      return runtime::FailedPrecondition(
          "PUBLISHED", d.name(), "the decision is published; it is part of the public record");
    }
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare("DELETE FROM decision WHERE activity_id = ? AND id = ?"));
    stmt.Bind(1, name.activity).Bind(2, name.id);
    RETURN_IF_ERROR(stmt.Run());
    runtime::log::Info("decision deleted", {{"decision", d.name()}});
    out->Clear();
    return absl::OkStatus();
  });
}

}  // namespace dorset::engagement
