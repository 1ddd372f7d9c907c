// Themes (what responses are about) and decisions (what was decided because of them).
#include "services/engagement/domain/themes_decisions.h"

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/request_id.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/keyset_page.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/activity_rows.h"
#include "services/engagement/storage/decision_rows.h"
#include "services/engagement/storage/requests.h"
#include "services/engagement/storage/response_rows.h"
#include "services/engagement/storage/theme_rows.h"

namespace dorset::engagement {
namespace {

using runtime::storage::KeysetPage;

int64_t VersionOf(const std::string& etag) {
  int64_t version = 0;
  for (char c : etag) {
    if (c >= '0' && c <= '9') version = version * 10 + (c - '0');
  }
  return version;
}

// What creating a theme and creating a decision share, inside the write transaction: the
// activity must exist; a retried request_id answers with the resource the first call created
// (`parse` reads its stored name); otherwise `insert` writes the row (a taken id is
// ALREADY_EXISTS naming the resource) and the request id is recorded with it. The value is the
// name of the resource to answer with.
struct ChildCreate {
  const char* method;  // "CreateTheme"
  const char* type;    // "Theme"
  std::string (*name_of)(std::string_view activity, std::string_view id);
  absl::StatusOr<ChildName> (*parse)(std::string_view name, std::string_view field);
};

template <typename Request>
absl::StatusOr<ChildName> CreateChild(StoreTx& tx, const ChildCreate& kind,
                                      const runtime::Caller& caller, const Request& request,
                                      const std::string& activity, const std::string& id,
                                      int64_t now, absl::FunctionRef<absl::Status()> insert) {
  RETURN_IF_ERROR(RequireActivity(tx, activity));
  ASSIGN_OR_RETURN(auto previous,
                   FindRequest(tx, kind.method, caller.principal, request.request_id(), request));
  if (previous.has_value()) return kind.parse(*previous, "request_id");
  const std::string name = kind.name_of(activity, id);
  absl::Status saved = insert();
  if (absl::IsAlreadyExists(saved)) return runtime::AlreadyExists(kind.type, name);
  RETURN_IF_ERROR(saved);
  RETURN_IF_ERROR(
      RecordRequest(tx, kind.method, caller.principal, request.request_id(), request, name, now));
  return ChildName{activity, id};
}

constexpr ChildCreate kThemeCreate{"CreateTheme", "Theme", ThemeName, ParseThemeName};
constexpr ChildCreate kDecisionCreate{"CreateDecision", "Decision", DecisionName,
                                      ParseDecisionName};

absl::Status ValidateTheme(const v1::Theme& t) {
  if (t.display_name().empty()) return runtime::InvalidArgument("theme.display_name", "required");
  RETURN_IF_ERROR(CheckText(t.display_name(), 200, "theme.display_name"));
  return CheckText(t.description(), 5000, "theme.description");
}

// Checks a decision's references (themes and responses of the same activity, existing) and
// returns them as stored ids.
struct DecisionRefs {
  std::vector<std::string> themes;
  std::vector<std::string> responses;
};

absl::StatusOr<DecisionRefs> CheckDecisionRefs(StoreTx& tx, const std::string& activity,
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
    ASSIGN_OR_RETURN(bool found, ThemeExists(tx, activity, theme.id));
    if (!found) return runtime::InvalidArgument(field, "no such theme");
    refs.themes.push_back(theme.id);
  }
  for (int i = 0; i < d.responses_size(); ++i) {
    const std::string field = absl::StrCat("decision.responses[", i, "]");
    ASSIGN_OR_RETURN(ResponseId response, ParseResponseName(d.responses(i), field));
    if (response.activity != activity) {
      return runtime::InvalidArgument(field, "must be a response to the same activity");
    }
    if (!seen.insert(d.responses(i)).second) return runtime::InvalidArgument(field, "listed twice");
    ASSIGN_OR_RETURN(bool found, ResponseExists(tx, activity, response.id));
    if (!found) return runtime::InvalidArgument(field, "no such response");
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

}  // namespace

absl::Status ThemesAndDecisions::CreateTheme(const runtime::Caller& caller,
                                             const v1::CreateThemeRequest& request,
                                             v1::Theme* out) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  v1::Theme t = request.theme();
  RETURN_IF_ERROR(ValidateTheme(t));
  if (!request.theme_id().empty() && !IsValidId(request.theme_id())) {
    return runtime::InvalidArgument("theme_id", "must match [a-z][a-z0-9-]{0,62}");
  }
  const std::string id = request.theme_id().empty() ? NewId('t') : request.theme_id();
  const int64_t now = ToMicros(ctx_.Now());
  SetTimestamp(t.mutable_create_time(), now);
  SetTimestamp(t.mutable_update_time(), now);
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(ChildName name,
                     CreateChild(tx, kThemeCreate, caller, request, activity, id, now, [&] {
                       return SaveTheme(tx, activity, id, t, 1, /*insert=*/true);
                     }));
    ASSIGN_OR_RETURN(*out, LoadTheme(tx, name.activity, name.id));
    return absl::OkStatus();
  });
}

absl::Status ThemesAndDecisions::GetTheme(const v1::GetThemeRequest& request, v1::Theme* out) {
  ASSIGN_OR_RETURN(ChildName name, ParseThemeName(request.name(), "name"));
  return ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(*out, LoadTheme(tx, name.activity, name.id));
    return absl::OkStatus();
  });
}

absl::Status ThemesAndDecisions::ListThemes(const v1::ListThemesRequest& request,
                                            v1::ListThemesResponse* out) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  ASSIGN_OR_RETURN(
      KeysetPage page,
      KeysetPage::Start(
          ctx_.page_tokens, absl::StrCat("themes|", activity), request.page_size(),
          request.page_token(),
          {.default_size = 100, .max_size = 500, .max_bytes = ctx_.options.reply_bytes}));
  return ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
    RETURN_IF_ERROR(RequireActivity(tx, activity));
    return ListThemeRows(tx, page, activity, *out->mutable_themes(),
                         out->mutable_next_page_token());
  });
}

absl::Status ThemesAndDecisions::UpdateTheme(const v1::UpdateThemeRequest& request,
                                             v1::Theme* out) {
  const v1::Theme& in = request.theme();
  ASSIGN_OR_RETURN(ChildName name, ParseThemeName(in.name(), "theme.name"));
  RETURN_IF_ERROR(CheckMask(request.update_mask(), {"display_name", "description"}, "Theme"));
  const int64_t now = ToMicros(ctx_.Now());
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Theme t, LoadTheme(tx, name.activity, name.id));
    const int64_t version = VersionOf(t.etag());
    RETURN_IF_ERROR(CheckEtag("Theme", t.name(), in.etag(), version));
    if (MaskHas(request.update_mask(), "display_name")) t.set_display_name(in.display_name());
    if (MaskHas(request.update_mask(), "description")) t.set_description(in.description());
    RETURN_IF_ERROR(ValidateTheme(t));
    SetTimestamp(t.mutable_update_time(), now);
    RETURN_IF_ERROR(SaveTheme(tx, name.activity, name.id, t, version + 1, /*insert=*/false));
    ASSIGN_OR_RETURN(*out, LoadTheme(tx, name.activity, name.id));
    return absl::OkStatus();
  });
}

absl::Status ThemesAndDecisions::CreateDecision(const runtime::Caller& caller,
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
  const int64_t now = ToMicros(ctx_.Now());
  SetTimestamp(d.mutable_create_time(), now);
  SetTimestamp(d.mutable_update_time(), now);
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        ChildName name, CreateChild(tx, kDecisionCreate, caller, request, activity, id, now, [&] {
          ASSIGN_OR_RETURN(DecisionRefs refs, CheckDecisionRefs(tx, activity, d));
          RETURN_IF_ERROR(SaveDecision(tx, activity, id, d, refs.themes, refs.responses, 1,
                                       /*insert=*/true));
          runtime::log::Info("decision recorded", {{"decision", DecisionName(activity, id)}});
          return absl::OkStatus();
        }));
    ASSIGN_OR_RETURN(*out, LoadDecision(tx, name.activity, name.id));
    return absl::OkStatus();
  });
}

absl::Status ThemesAndDecisions::GetDecision(const v1::GetDecisionRequest& request,
                                             v1::Decision* out) {
  ASSIGN_OR_RETURN(ChildName name, ParseDecisionName(request.name(), "name"));
  return ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(*out, LoadDecision(tx, name.activity, name.id));
    return absl::OkStatus();
  });
}

absl::Status ThemesAndDecisions::ListDecisions(const v1::ListDecisionsRequest& request,
                                               v1::ListDecisionsResponse* out) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  ASSIGN_OR_RETURN(
      KeysetPage page,
      KeysetPage::Start(
          ctx_.page_tokens, absl::StrCat("decisions|", activity), request.page_size(),
          request.page_token(),
          {.default_size = 100, .max_size = 500, .max_bytes = ctx_.options.reply_bytes}));
  return ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
    RETURN_IF_ERROR(RequireActivity(tx, activity));
    return ListDecisionRows(tx, page, activity, *out->mutable_decisions(),
                            out->mutable_next_page_token());
  });
}

absl::Status ThemesAndDecisions::UpdateDecision(const v1::UpdateDecisionRequest& request,
                                                v1::Decision* out) {
  const v1::Decision& in = request.decision();
  ASSIGN_OR_RETURN(ChildName name, ParseDecisionName(in.name(), "decision.name"));
  const auto& mask = request.update_mask();
  RETURN_IF_ERROR(CheckMask(
      mask,
      {"summary", "rationale", "themes", "responses", "decided_by", "decide_time", "published"},
      "Decision"));
  const int64_t now = ToMicros(ctx_.Now());
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Decision d, LoadDecision(tx, name.activity, name.id));
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
    RETURN_IF_ERROR(SaveDecision(tx, name.activity, name.id, d, refs.themes, refs.responses,
                                 version + 1,
                                 /*insert=*/false));
    ASSIGN_OR_RETURN(*out, LoadDecision(tx, name.activity, name.id));
    return absl::OkStatus();
  });
}

absl::Status ThemesAndDecisions::DeleteTheme(const v1::DeleteThemeRequest& request,
                                             google::protobuf::Empty* out) {
  ASSIGN_OR_RETURN(ChildName name, ParseThemeName(request.name(), "name"));
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Theme t, LoadTheme(tx, name.activity, name.id));
    RETURN_IF_ERROR(CheckEtag("Theme", t.name(), request.etag(), VersionOf(t.etag())));
    ASSIGN_OR_RETURN(v1::Activity activity, LoadActivity(tx, name.activity));
    if (activity.state() == v1::ACTIVITY_STATE_OUTCOME_PUBLISHED) {
      return runtime::FailedPrecondition(
          "STATE", t.name(), "the outcome is published; its themes are part of the public record");
    }
    ASSIGN_OR_RETURN(ThemeUser user, FindThemeUser(tx, name.activity, name.id));
    if (user == ThemeUser::kResponse) {
      return runtime::FailedPrecondition(
          "IN_USE", t.name(),
          "responses are tagged with the theme; re-tag them first (UpdateResponse)");
    }
    if (user == ThemeUser::kDecision) {
      return runtime::FailedPrecondition(
          "IN_USE", t.name(), "a decision answers the theme; update or delete the decision first");
    }
    RETURN_IF_ERROR(DeleteThemeRows(tx, name.activity, name.id));
    runtime::log::Info("theme deleted", {{"theme", t.name()}});
    out->Clear();
    return absl::OkStatus();
  });
}

absl::Status ThemesAndDecisions::DeleteDecision(const v1::DeleteDecisionRequest& request,
                                                google::protobuf::Empty* out) {
  ASSIGN_OR_RETURN(ChildName name, ParseDecisionName(request.name(), "name"));
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Decision d, LoadDecision(tx, name.activity, name.id));
    RETURN_IF_ERROR(CheckEtag("Decision", d.name(), request.etag(), VersionOf(d.etag())));
    if (d.published()) {
      return runtime::FailedPrecondition(
          "PUBLISHED", d.name(), "the decision is published; it is part of the public record");
    }
    RETURN_IF_ERROR(DeleteDecisionRow(tx, name.activity, name.id));
    runtime::log::Info("decision deleted", {{"decision", d.name()}});
    out->Clear();
    return absl::OkStatus();
  });
}

}  // namespace dorset::engagement
