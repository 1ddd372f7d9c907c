// Responses: checked for form and against the registry before they reach the writer, then
// checked against the store (activity open, inside its window; themes and stakeholder exist)
// and written with their counters in the writer's transaction.
#include "services/engagement/domain/responses.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/enum_names.h"
#include "runtime/api/request_id.h"
#include "runtime/auth/permissions.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/keyset_page.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/activity_rows.h"
#include "services/engagement/storage/counter_rows.h"
#include "services/engagement/storage/response_rows.h"
#include "services/engagement/storage/theme_rows.h"

namespace dorset::engagement {
namespace {

constexpr int kMaxThemesPerResponse = 20;
// Said with every refusal of a practice, so the organisers know the way out.
constexpr char kAllowHint[] = "; the activity's allowed_practices can allow it";
constexpr size_t kMaxResponseText = 20000;

int64_t VersionOf(const std::string& etag) {
  int64_t version = 0;
  for (char c : etag) {
    if (c >= '0' && c <= '9') version = version * 10 + (c - '0');
  }
  return version;
}

std::vector<std::string> ThemeIds(const v1::Response& r) {
  std::vector<std::string> ids;
  for (const std::string& name : r.themes()) ids.push_back(name.substr(name.rfind('/') + 1));
  return ids;
}

// The response's theme assignments once its themes are `theme_ids`: a theme it keeps keeps its
// record (who first assigned it), a theme it gains is `principal`'s by hand at `now`, a theme it
// loses loses its record. In the order of `theme_ids`.
google::protobuf::RepeatedPtrField<v1::ThemeAssignment> AssignmentsAfterMove(
    const v1::Response& r, const std::string& activity, const std::vector<std::string>& theme_ids,
    const std::string& principal, int64_t now) {
  google::protobuf::RepeatedPtrField<v1::ThemeAssignment> out;
  for (const std::string& id : theme_ids) {
    const std::string theme = ThemeName(activity, id);
    const bool had = std::find(r.themes().begin(), r.themes().end(), theme) != r.themes().end();
    if (had) {
      // Kept: its record, if one was made (themes from before records were kept have none).
      for (const v1::ThemeAssignment& a : r.theme_assignments()) {
        if (a.theme() == theme) *out.Add() = a;
      }
      continue;
    }
    v1::ThemeAssignment* a = out.Add();
    a->set_theme(theme);
    a->set_method(v1::THEME_ASSIGNMENT_METHOD_BY_HAND);
    a->set_assigned_by(principal);
    SetTimestamp(a->mutable_assign_time(), now);
  }
  return out;
}

}  // namespace

absl::Status Responses::CheckPracticeCovered(const PracticeFacts& practice, absl::Time at) const {
  if (practice.commissioner != ctx_.options.commissioner) {
    return runtime::InvalidArgument(
        "response.practice",
        absl::StrCat(
            "not a practice of commissioner ", ctx_.options.commissioner, " (it belongs to ",
            practice.commissioner.empty() ? "none" : practice.commissioner, ")", kAllowHint));
  }
  // Registry dates are calendar days in England.
  absl::TimeZone london;
  if (!absl::LoadTimeZone("Europe/London", &london)) london = absl::UTCTimeZone();
  const std::string day = absl::FormatTime("%Y-%m-%d", at, london);
  // The close date is the practice's last day; CLOSED without a date has closed already.
  const bool closed = (!practice.close_date.empty() && day > practice.close_date) ||
                      (practice.status == "CLOSED" && practice.close_date.empty());
  const bool not_yet =
      practice.status == "PROPOSED" || (!practice.open_date.empty() && day < practice.open_date);
  if (closed || not_yet || practice.status == "DORMANT") {
    return runtime::InvalidArgument(
        "response.practice",
        absl::StrCat(
            "the practice is not open on ", day, " (status ", practice.status,
            practice.open_date.empty() ? "" : absl::StrCat(", opened ", practice.open_date),
            practice.close_date.empty() ? "" : absl::StrCat(", closed ", practice.close_date), ")",
            kAllowHint));
  }
  return absl::OkStatus();
}

void Responses::RedactResponse(const runtime::Caller& caller, v1::Response& r) {
  // Whoever submitted the response may be the respondent: like the stakeholder link, their
  // principal (on the themes given with it) is for callers with personal_data.read only. Staff's
  // coding (by hand, by rule) is shown to every reader, as ThemeCoding.coded_by is.
  if (!caller.Can(runtime::Permission::kPersonalDataRead)) {
    for (v1::ThemeAssignment& a : *r.mutable_theme_assignments()) {
      if (a.method() == v1::THEME_ASSIGNMENT_METHOD_ON_CREATION) a.clear_assigned_by();
    }
  }
  const bool personal = !r.stakeholder().empty() || (!r.publish_consent() && !r.text().empty());
  if (!personal) return;
  if (caller.Can(runtime::Permission::kPersonalDataRead)) {
    caller.NotePersonalDataRead();
    return;
  }
  r.clear_stakeholder();
  if (!r.publish_consent()) r.clear_text();
  r.set_personal_data_redacted(true);
}

absl::StatusOr<PendingResponse> Responses::PrepareResponse(
    const runtime::Caller& caller, const v1::CreateResponseRequest& request) {
  PendingResponse pending;
  pending.time = ctx_.Now();
  ASSIGN_OR_RETURN(pending.activity, ParseActivityName(request.parent(), "parent"));
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  pending.request = {
      .request_id = request.request_id(),
      .method = "CreateResponse",
      .principal = caller.principal,
      .request_hash = request.request_id().empty() ? std::string() : runtime::RequestHash(request)};
  v1::Response r = request.response();
  r.clear_name();
  r.clear_anonymised();
  r.clear_personal_data_redacted();
  r.clear_create_time();
  r.clear_update_time();
  r.clear_etag();
  std::vector<runtime::FieldViolation> v;
  if (!v1::Channel_IsValid(r.channel()) || r.channel() == v1::CHANNEL_UNSPECIFIED) {
    v.push_back({"response.channel", "required: ONLINE, LETTER, EVENT or PHONE"});
  }
  if (!v1::Sentiment_IsValid(r.sentiment())) v.push_back({"response.sentiment", "unknown value"});
  if (r.text().empty() && r.themes().empty()) {
    v.push_back({"response.text", "a response needs text or at least one theme"});
  }
  if (r.themes_size() > kMaxThemesPerResponse) {
    v.push_back({"response.themes", absl::StrCat("at most ", kMaxThemesPerResponse)});
  }
  if (!v.empty()) return runtime::InvalidArguments(std::move(v));
  RETURN_IF_ERROR(CheckText(r.text(), kMaxResponseText, "response.text"));
  if (!r.stakeholder().empty()) {
    ASSIGN_OR_RETURN(pending.stakeholder_id,
                     ParseStakeholderName(r.stakeholder(), "response.stakeholder"));
  }
  pending.theme_ids.reserve(static_cast<size_t>(r.themes_size()));
  for (int i = 0; i < r.themes_size(); ++i) {
    // The field's name with its index only for a refusal (not built for every theme).
    auto field = [i] { return absl::StrCat("response.themes[", i, "]"); };
    absl::StatusOr<ChildName> theme = ParseThemeName(r.themes(i), "response.themes");
    if (!theme.ok()) return ParseThemeName(r.themes(i), field()).status();
    if (theme->activity != pending.activity) {
      return runtime::InvalidArgument(field(), "must be a theme of the same activity");
    }
    // At most kMaxThemesPerResponse ids: a look through those before is cheaper than a hash set
    // allocated for every response.
    if (std::find(pending.theme_ids.begin(), pending.theme_ids.end(), theme->id) !=
        pending.theme_ids.end()) {
      return runtime::InvalidArgument(field(), "listed twice");
    }
    pending.theme_ids.push_back(std::move(theme->id));
  }
  if (!r.practice().empty()) {
    if (!IsPracticeName(r.practice())) {
      return runtime::InvalidArgument("response.practice", "must be practices/{code}");
    }
    if (ctx_.registry != nullptr) {
      absl::StatusOr<PracticeFacts> practice = ctx_.registry->Practice(r.practice());
      if (absl::IsNotFound(practice.status())) {
        return runtime::InvalidArgument("response.practice", "no such practice in the registry");
      }
      if (!practice.ok()) return runtime::Annotate(practice.status(), "registry");
      // Judged at the response's own time; the activity may still allow the practice, which
      // the writer checks against the activity it reads.
      pending.practice_refusal = CheckPracticeCovered(*practice, pending.time);
      if (!r.locality().empty() && r.locality() != practice->locality) {
        return runtime::InvalidArgument("response.locality",
                                        "is not the locality of response.practice");
      }
      r.set_locality(practice->locality);
    }
  }
  RETURN_IF_ERROR(ctx_.CheckLocalityField(r.locality(), "response.locality"));
  // Who coded what: themes given with the response are the submitter's, at its time.
  r.clear_theme_assignments();
  for (const std::string& theme : r.themes()) {
    v1::ThemeAssignment* a = r.add_theme_assignments();
    a->set_theme(theme);
    a->set_method(v1::THEME_ASSIGNMENT_METHOD_ON_CREATION);
    a->set_assigned_by(caller.principal);
    SetTimestamp(a->mutable_assign_time(), ToMicros(pending.time));
  }
  pending.response = std::move(r);
  return pending;
}

absl::StatusOr<absl::Status> Responses::CommitResponse(const PendingResponse& pending,
                                                       v1::Response* out, ResponseBatch& batch,
                                                       bool* created) {
  *created = false;
  // Each response is a part of the group's transaction: a refused one leaves no trace and does
  // not sink the others. It writes nothing itself (WriteResponse checks everything first and
  // keeps the row, the request record and the counters for the group's Flush), so it needs no
  // savepoint on either engine; on PostgreSQL a statement of it that failed fails the group.
  return batch.InPart([&] { return WriteResponse(pending, out, batch, created); });
}

void Responses::CompleteCreated(v1::Response&& given, v1::Response* out) {
  given.set_name(std::move(*out->mutable_name()));
  given.set_stakeholder(std::move(*out->mutable_stakeholder()));
  given.mutable_create_time()->Swap(out->mutable_create_time());
  given.mutable_update_time()->Swap(out->mutable_update_time());
  given.set_etag(std::move(*out->mutable_etag()));
  out->Swap(&given);
}

absl::Status Responses::WriteResponse(const PendingResponse& pending, v1::Response* out,
                                      ResponseBatch& batch, bool* created) {
  // The response's time, taken when it was received: the window and the practice are judged at
  // the same instant, however long the response waited for its batch.
  const int64_t now_us = ToMicros(pending.time);
  const ResponseBatch::RequestKey& key = pending.request;

  ASSIGN_OR_RETURN(std::optional<std::string> previous_name, batch.FindRequest(key));
  if (previous_name.has_value()) {
    ASSIGN_OR_RETURN(ResponseId previous, ParseResponseName(*previous_name, "request_id"));
    ASSIGN_OR_RETURN(*out, batch.LoadResponse(previous.activity, previous.id));
    return absl::OkStatus();
  }

  // One lookup per activity serves the whole group (one transaction).
  ASSIGN_OR_RETURN(const ResponseBatch::Window* found_window,
                   batch.ActivityWindow(pending.activity));
  const ResponseBatch::Window& window = *found_window;
  if (!window.found) return runtime::NotFound("Activity", ActivityName(pending.activity));
  const v1::ActivityState state = window.state;
  const std::optional<int64_t>& window_start = window.start;
  const std::optional<int64_t>& window_end = window.end;
  if (state != v1::ACTIVITY_STATE_OPEN) {
    return runtime::FailedPrecondition(
        "STATE", ActivityName(pending.activity),
        absl::StrCat("the activity is ", runtime::EnumShortName(state),
                     "; responses are accepted only while it is OPEN"));
  }
  if (window_start.has_value() && now_us < *window_start) {
    return runtime::FailedPrecondition("WINDOW", ActivityName(pending.activity),
                                       "the response window has not started yet");
  }
  if (window_end.has_value() && now_us >= *window_end) {
    return runtime::FailedPrecondition("WINDOW", ActivityName(pending.activity),
                                       "the response window has ended");
  }
  if (!pending.practice_refusal.ok() &&
      !window.allowed_practices.contains(pending.response.practice())) {
    return pending.practice_refusal;
  }
  for (size_t i = 0; i < pending.theme_ids.size(); ++i) {
    ASSIGN_OR_RETURN(bool theme_found, batch.ThemeExists(pending.activity, pending.theme_ids[i]));
    if (!theme_found) {
      return runtime::InvalidArgument(absl::StrCat("response.themes[", i, "]"), "no such theme");
    }
  }
  if (!pending.stakeholder_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<bool> erased, batch.StakeholderErased(pending.stakeholder_id));
    if (!erased.has_value()) {
      return runtime::InvalidArgument("response.stakeholder", "no such stakeholder");
    }
    if (*erased) {
      return runtime::FailedPrecondition("STATE", "response.stakeholder",
                                         "the stakeholder has been erased");
    }
  }

  const v1::Response& r = pending.response;
  ASSIGN_OR_RETURN(const int64_t id, batch.InsertResponse(pending.activity, pending.stakeholder_id,
                                                          r, pending.theme_ids, now_us));
  std::string name = ResponseName(pending.activity, id);
  // Kept for the group's end (written with the others): nothing after it may fail.
  RETURN_IF_ERROR(batch.StoreRequest(key, name, now_us));
  batch.AddToCounters(pending.activity, r.channel(), r.sentiment(), r.locality(),
                      pending.theme_ids);
  // The writer's fields only: CompleteCreated adds `r` after the commit.
  out->Clear();
  out->set_name(std::move(name));
  if (!pending.stakeholder_id.empty()) {
    out->set_stakeholder(StakeholderName(pending.stakeholder_id));
  }
  SetTimestamp(out->mutable_create_time(), now_us);
  SetTimestamp(out->mutable_update_time(), now_us);
  out->set_etag(Etag(1));
  *created = true;
  return absl::OkStatus();
}

absl::Status Responses::GetResponse(const runtime::Caller& caller,
                                    const v1::GetResponseRequest& request, v1::Response* out) {
  ASSIGN_OR_RETURN(ResponseId id, ParseResponseName(request.name(), "name"));
  return ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(*out, LoadResponse(tx, id.activity, id.id));
    RedactResponse(caller, *out);
    return absl::OkStatus();
  });
}

absl::StatusOr<Responses::ResponsePage> Responses::ResponsesAfter(const runtime::Caller& caller,
                                                                  const std::string& activity,
                                                                  int64_t after, int limit) {
  ResponsePage page;
  runtime::ReplyBudget budget(ctx_.options.reply_bytes);
  return ctx_.store.Read([&](StoreTx& tx) -> absl::StatusOr<Responses::ResponsePage> {
    RETURN_IF_ERROR(ForResponsesAfter(tx, activity, after, limit + 1, [&](v1::Response response) {
      if (static_cast<int>(page.responses.size()) == limit) {
        page.more = true;
        return false;
      }
      RedactResponse(caller, response);
      if (!budget.Take(response)) {
        page.more = true;
        return false;
      }
      page.responses.push_back(std::move(response));
      return true;
    }));
    return page;
  });
}

absl::Status Responses::ListResponses(const runtime::Caller& caller,
                                      const v1::ListResponsesRequest& request,
                                      v1::ListResponsesResponse* out) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  // Keyed by the numeric response id (ResponsesAfter pages the export stream the same way).
  ASSIGN_OR_RETURN(runtime::storage::KeysetPage keyset,
                   runtime::storage::KeysetPage::Start(
                       ctx_.page_tokens, absl::StrCat("responses|", activity), request.page_size(),
                       request.page_token(), {.default_size = 100, .max_size = 1000}));
  int64_t after = 0;
  if (!keyset.first() && !absl::SimpleAtoi(keyset.after(), &after)) {
    return runtime::InvalidArgument("page_token", "not a token of this query");
  }
  RETURN_IF_ERROR(ctx_.CheckActivityExists(activity));
  ASSIGN_OR_RETURN(ResponsePage page, ResponsesAfter(caller, activity, after, keyset.page_size()));
  for (v1::Response& r : page.responses) *out->add_responses() = std::move(r);
  if (page.more && out->responses_size() > 0) {
    const std::string& last = out->responses(out->responses_size() - 1).name();
    out->set_next_page_token(keyset.TokenAfter(last.substr(last.rfind('/') + 1)));
  }
  return absl::OkStatus();
}

absl::Status Responses::UpdateResponse(const runtime::Caller& caller,
                                       const v1::UpdateResponseRequest& request,
                                       v1::Response* out) {
  const v1::Response& in = request.response();
  ASSIGN_OR_RETURN(ResponseId id, ParseResponseName(in.name(), "response.name"));
  const auto& mask = request.update_mask();
  RETURN_IF_ERROR(CheckMask(mask, {"themes", "sentiment"}, "Response"));
  if (!v1::Sentiment_IsValid(in.sentiment())) {
    return runtime::InvalidArgument("response.sentiment", "unknown value");
  }
  std::vector<std::string> new_theme_ids;
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < in.themes_size() && MaskHas(mask, "themes"); ++i) {
    const std::string field = absl::StrCat("response.themes[", i, "]");
    ASSIGN_OR_RETURN(ChildName theme, ParseThemeName(in.themes(i), field));
    if (theme.activity != id.activity) {
      return runtime::InvalidArgument(field, "must be a theme of the same activity");
    }
    if (!seen.insert(theme.id).second) return runtime::InvalidArgument(field, "listed twice");
    new_theme_ids.push_back(theme.id);
  }
  const int64_t now = ToMicros(ctx_.Now());
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Response r, LoadResponse(tx, id.activity, id.id));
    const int64_t version = VersionOf(r.etag());
    RETURN_IF_ERROR(CheckEtag("Response", r.name(), in.etag(), version));
    ASSIGN_OR_RETURN(v1::Activity activity, LoadActivity(tx, id.activity));
    if (activity.state() == v1::ACTIVITY_STATE_OUTCOME_PUBLISHED) {
      return runtime::FailedPrecondition("STATE", activity.name(),
                                         "the outcome is published; responses are read-only");
    }
    std::vector<std::string> old_theme_ids = ThemeIds(r);
    const auto old_cells = CounterCells(r.channel(), r.sentiment(), r.locality(), old_theme_ids);
    if (MaskHas(mask, "themes")) {
      for (size_t i = 0; i < new_theme_ids.size(); ++i) {
        ASSIGN_OR_RETURN(bool found, ThemeExists(tx, id.activity, new_theme_ids[i]));
        if (!found) {
          return runtime::InvalidArgument(absl::StrCat("response.themes[", i, "]"),
                                          "no such theme");
        }
      }
    } else {
      new_theme_ids = old_theme_ids;
    }
    const v1::Sentiment sentiment = MaskHas(mask, "sentiment") ? in.sentiment() : r.sentiment();
    const google::protobuf::RepeatedPtrField<v1::ThemeAssignment> assignments =
        AssignmentsAfterMove(r, id.activity, new_theme_ids, caller.principal, now);
    RETURN_IF_ERROR(
        UpdateResponseRow(tx, id.id, new_theme_ids, assignments, sentiment, now, version + 1));
    RETURN_IF_ERROR(AddToCounters(tx, id.activity, old_cells, -1));
    RETURN_IF_ERROR(AddToCounters(
        tx, id.activity, CounterCells(r.channel(), sentiment, r.locality(), new_theme_ids), 1));
    ASSIGN_OR_RETURN(*out, LoadResponse(tx, id.activity, id.id));
    RedactResponse(caller, *out);
    return absl::OkStatus();
  });
}

}  // namespace dorset::engagement
