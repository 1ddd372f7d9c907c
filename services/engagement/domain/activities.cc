// Activities and their lifecycle DRAFT -> OPEN -> CLOSED -> OUTCOME_PUBLISHED.
#include "services/engagement/domain/activities.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/enum_names.h"
#include "runtime/api/request_id.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/keyset_page.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/activity_rows.h"
#include "services/engagement/storage/requests.h"

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

std::string StateName(v1::ActivityState state) { return runtime::EnumShortName(state); }

}  // namespace

namespace {

// The form of activity.allowed_practices: practice names, each listed once.
void AllowedPracticeViolations(const v1::Activity& a, std::vector<runtime::FieldViolation>& v) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < a.allowed_practices_size(); ++i) {
    const std::string field = absl::StrCat("activity.allowed_practices[", i, "]");
    if (!IsPracticeName(a.allowed_practices(i))) {
      v.push_back({field, "must be practices/{code}"});
    } else if (!seen.insert(a.allowed_practices(i)).second) {
      v.push_back({field, "listed twice"});
    }
  }
}

absl::Status ValidateActivityFields(const v1::Activity& a) {
  std::vector<runtime::FieldViolation> v;
  if (!v1::ActivityKind_IsValid(a.kind()) || a.kind() == v1::ACTIVITY_KIND_UNSPECIFIED) {
    v.push_back({"activity.kind", "required"});
  }
  if (a.title().empty()) v.push_back({"activity.title", "required"});
  if (a.title().size() > 300) v.push_back({"activity.title", "at most 300 bytes"});
  if (a.purpose().size() > 10000) v.push_back({"activity.purpose", "at most 10000 bytes"});
  if (!a.finance_scheme().empty() && !IsFinanceSchemeName(a.finance_scheme())) {
    v.push_back({"activity.finance_scheme",
                 "must be plans/{plan}/programmes/{programme}/schemes/{scheme}"});
  }
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < a.localities_size(); ++i) {
    if (!IsLocalityName(a.localities(i))) {
      v.push_back({absl::StrCat("activity.localities[", i, "]"), "must be localities/{id}"});
    } else if (!seen.insert(a.localities(i)).second) {
      v.push_back({absl::StrCat("activity.localities[", i, "]"), "listed twice"});
    }
  }
  AllowedPracticeViolations(a, v);
  if (a.has_window_start_time() && a.has_window_end_time() &&
      (a.window_end_time().seconds() < a.window_start_time().seconds() ||
       (a.window_end_time().seconds() == a.window_start_time().seconds() &&
        a.window_end_time().nanos() <= a.window_start_time().nanos()))) {
    v.push_back({"activity.window_end_time", "must be after window_start_time"});
  }
  if (a.reported_participants() < 0) {
    v.push_back({"activity.reported_participants", "must not be negative"});
  }
  if (a.reported_source().size() > 2000) {
    v.push_back({"activity.reported_source", "at most 2000 bytes"});
  }
  if (!v.empty()) return runtime::InvalidArguments(std::move(v));
  if (a.has_window_start_time()) {
    RETURN_IF_ERROR(TimestampMicros(a.window_start_time(), "activity.window_start_time").status());
  }
  if (a.has_window_end_time()) {
    RETURN_IF_ERROR(TimestampMicros(a.window_end_time(), "activity.window_end_time").status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Activities::CheckAllowedPractices(const v1::Activity& a) {
  if (ctx_.registry == nullptr) return absl::OkStatus();
  for (int i = 0; i < a.allowed_practices_size(); ++i) {
    absl::Status known = ctx_.registry->Practice(a.allowed_practices(i)).status();
    if (absl::IsNotFound(known)) {
      return runtime::InvalidArgument(absl::StrCat("activity.allowed_practices[", i, "]"),
                                      "no such practice in the registry");
    }
    if (!known.ok()) return runtime::Annotate(known, "registry");
  }
  return absl::OkStatus();
}

absl::Status Activities::CreateActivity(const runtime::Caller& caller,
                                        const v1::CreateActivityRequest& request,
                                        v1::Activity* out) {
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  v1::Activity a = request.activity();
  RETURN_IF_ERROR(ValidateActivityFields(a));
  if (!request.activity_id().empty() && !IsValidId(request.activity_id())) {
    return runtime::InvalidArgument("activity_id", "must match [a-z][a-z0-9-]{0,62}");
  }
  for (int i = 0; i < a.localities_size(); ++i) {
    RETURN_IF_ERROR(
        ctx_.CheckLocalityField(a.localities(i), absl::StrCat("activity.localities[", i, "]")));
  }
  RETURN_IF_ERROR(CheckAllowedPractices(a));
  const std::string id = request.activity_id().empty() ? NewId('a') : request.activity_id();
  const int64_t now = ToMicros(ctx_.Now());
  a.set_name(ActivityName(id));
  a.set_state(v1::ACTIVITY_STATE_DRAFT);
  a.clear_open_time();
  a.clear_close_time();
  a.clear_publish_time();
  a.clear_outcome_summary();
  SetTimestamp(a.mutable_create_time(), now);
  SetTimestamp(a.mutable_update_time(), now);
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    std::string result_id = id;  // per attempt: a retried transaction starts afresh
    ASSIGN_OR_RETURN(auto previous, FindRequest(tx, "CreateActivity", caller.principal,
                                                request.request_id(), request));
    if (previous.has_value()) {
      ASSIGN_OR_RETURN(result_id, ParseActivityName(*previous, "request_id"));
    } else {
      absl::Status saved = SaveActivity(tx, id, a, 1, /*insert=*/true);
      if (absl::IsAlreadyExists(saved)) return runtime::AlreadyExists("Activity", a.name());
      RETURN_IF_ERROR(saved);
      RETURN_IF_ERROR(RecordRequest(tx, "CreateActivity", caller.principal, request.request_id(),
                                    request, a.name(), now));
      runtime::log::Info("activity created",
                         {{"activity", a.name()}, {"kind", runtime::EnumShortName(a.kind())}});
    }
    ASSIGN_OR_RETURN(*out, LoadActivity(tx, result_id));
    return absl::OkStatus();
  });
}

absl::Status Activities::GetActivity(const v1::GetActivityRequest& request, v1::Activity* out) {
  ASSIGN_OR_RETURN(std::string id, ParseActivityName(request.name(), "name"));
  return ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(*out, LoadActivity(tx, id));
    return absl::OkStatus();
  });
}

absl::Status Activities::ListActivities(const v1::ListActivitiesRequest& request,
                                        v1::ListActivitiesResponse* out) {
  if (!v1::ActivityState_IsValid(request.state())) {
    return runtime::InvalidArgument("state", "unknown activity state");
  }
  ASSIGN_OR_RETURN(
      KeysetPage page,
      KeysetPage::Start(
          ctx_.page_tokens, absl::StrCat("activities|state=", request.state()), request.page_size(),
          request.page_token(),
          {.default_size = 50, .max_size = 500, .max_bytes = ctx_.options.reply_bytes}));
  return ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
    return ListActivityRows(tx, page, request.state(), *out->mutable_activities(),
                            out->mutable_next_page_token());
  });
}

absl::Status Activities::UpdateActivity(const v1::UpdateActivityRequest& request,
                                        v1::Activity* out) {
  const v1::Activity& in = request.activity();
  ASSIGN_OR_RETURN(std::string id, ParseActivityName(in.name(), "activity.name"));
  RETURN_IF_ERROR(CheckMask(
      request.update_mask(),
      {"kind", "title", "purpose", "localities", "finance_scheme", "window_start_time",
       "window_end_time", "reported_participants", "reported_source", "allowed_practices"},
      "Activity"));
  const auto& mask = request.update_mask();
  if (MaskHas(mask, "localities")) {
    for (int i = 0; i < in.localities_size(); ++i) {
      RETURN_IF_ERROR(
          ctx_.CheckLocalityField(in.localities(i), absl::StrCat("activity.localities[", i, "]")));
    }
  }
  if (MaskHas(mask, "allowed_practices")) {
    // Form first (no registry call for a malformed list), then existence.
    std::vector<runtime::FieldViolation> v;
    AllowedPracticeViolations(in, v);
    if (!v.empty()) return runtime::InvalidArguments(std::move(v));
    RETURN_IF_ERROR(CheckAllowedPractices(in));
  }
  const int64_t now = ToMicros(ctx_.Now());
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Activity a, LoadActivity(tx, id));
    const int64_t version = VersionOf(a.etag());
    RETURN_IF_ERROR(CheckEtag("Activity", a.name(), in.etag(), version));
    if (a.state() == v1::ACTIVITY_STATE_OUTCOME_PUBLISHED) {
      return runtime::FailedPrecondition("STATE", a.name(),
                                         "the outcome is published; the activity is read-only");
    }
    if (MaskHas(mask, "kind")) a.set_kind(in.kind());
    if (MaskHas(mask, "title")) a.set_title(in.title());
    if (MaskHas(mask, "purpose")) a.set_purpose(in.purpose());
    if (MaskHas(mask, "localities")) *a.mutable_localities() = in.localities();
    if (MaskHas(mask, "finance_scheme")) a.set_finance_scheme(in.finance_scheme());
    if (MaskHas(mask, "window_start_time")) {
      if (in.has_window_start_time()) {
        *a.mutable_window_start_time() = in.window_start_time();
      } else {
        a.clear_window_start_time();
      }
    }
    if (MaskHas(mask, "window_end_time")) {
      if (in.has_window_end_time()) {
        *a.mutable_window_end_time() = in.window_end_time();
      } else {
        a.clear_window_end_time();
      }
    }
    if (MaskHas(mask, "reported_participants"))
      a.set_reported_participants(in.reported_participants());
    if (MaskHas(mask, "reported_source")) a.set_reported_source(in.reported_source());
    if (MaskHas(mask, "allowed_practices")) {
      *a.mutable_allowed_practices() = in.allowed_practices();
    }
    RETURN_IF_ERROR(ValidateActivityFields(a));
    SetTimestamp(a.mutable_update_time(), now);
    RETURN_IF_ERROR(SaveActivity(tx, id, a, version + 1, /*insert=*/false));
    ASSIGN_OR_RETURN(*out, LoadActivity(tx, id));
    return absl::OkStatus();
  });
}

absl::Status Activities::Transition(const std::string& name, const std::string& etag,
                                    v1::ActivityState from, v1::ActivityState to,
                                    const std::function<absl::Status(v1::Activity&)>& apply,
                                    v1::Activity* out) {
  ASSIGN_OR_RETURN(std::string id, ParseActivityName(name, "name"));
  const int64_t now = ToMicros(ctx_.Now());
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Activity a, LoadActivity(tx, id));
    const int64_t version = VersionOf(a.etag());
    RETURN_IF_ERROR(CheckEtag("Activity", a.name(), etag, version));
    if (a.state() != from) {
      return runtime::FailedPrecondition(
          "STATE", a.name(),
          absl::StrCat("the activity is ", StateName(a.state()), "; moving to ", StateName(to),
                       " needs ", StateName(from)));
    }
    RETURN_IF_ERROR(apply(a));
    a.set_state(to);
    SetTimestamp(a.mutable_update_time(), now);
    RETURN_IF_ERROR(SaveActivity(tx, id, a, version + 1, /*insert=*/false));
    runtime::log::Info("activity state changed",
                       {{"activity", a.name()}, {"state", StateName(to)}});
    ASSIGN_OR_RETURN(*out, LoadActivity(tx, id));
    return absl::OkStatus();
  });
}

absl::Status Activities::OpenActivity(const v1::OpenActivityRequest& request, v1::Activity* out) {
  const absl::Time now = ctx_.Now();
  return Transition(
      request.name(), request.etag(), v1::ACTIVITY_STATE_DRAFT, v1::ACTIVITY_STATE_OPEN,
      [&](v1::Activity& a) -> absl::Status {
        if (a.has_window_end_time() && absl::FromUnixSeconds(a.window_end_time().seconds()) +
                                               absl::Nanoseconds(a.window_end_time().nanos()) <=
                                           now) {
          return runtime::FailedPrecondition("WINDOW", a.name(),
                                             "the response window has already ended");
        }
        SetTimestamp(a.mutable_open_time(), ToMicros(now));
        return absl::OkStatus();
      },
      out);
}

absl::Status Activities::CloseActivity(const v1::CloseActivityRequest& request, v1::Activity* out) {
  const int64_t now = ToMicros(ctx_.Now());
  return Transition(
      request.name(), request.etag(), v1::ACTIVITY_STATE_OPEN, v1::ACTIVITY_STATE_CLOSED,
      [&](v1::Activity& a) {
        SetTimestamp(a.mutable_close_time(), now);
        return absl::OkStatus();
      },
      out);
}

absl::Status Activities::PublishOutcome(const v1::PublishOutcomeRequest& request,
                                        v1::Activity* out) {
  if (request.outcome_summary().empty()) {
    return runtime::InvalidArgument("outcome_summary", "required");
  }
  RETURN_IF_ERROR(CheckText(request.outcome_summary(), 20000, "outcome_summary"));
  const int64_t now = ToMicros(ctx_.Now());
  return Transition(
      request.name(), request.etag(), v1::ACTIVITY_STATE_CLOSED,
      v1::ACTIVITY_STATE_OUTCOME_PUBLISHED,
      [&](v1::Activity& a) {
        SetTimestamp(a.mutable_publish_time(), now);
        a.set_outcome_summary(request.outcome_summary());
        return absl::OkStatus();
      },
      out);
}

absl::Status Activities::DeleteActivity(const v1::DeleteActivityRequest& request,
                                        google::protobuf::Empty* out) {
  ASSIGN_OR_RETURN(std::string id, ParseActivityName(request.name(), "name"));
  return ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Activity a, LoadActivity(tx, id));
    RETURN_IF_ERROR(CheckEtag("Activity", a.name(), request.etag(), VersionOf(a.etag())));
    if (a.state() != v1::ACTIVITY_STATE_DRAFT) {
      return runtime::FailedPrecondition(
          "STATE", a.name(),
          absl::StrCat("the activity is ", StateName(a.state()),
                       "; only a DRAFT activity can be deleted, consultation records are kept"));
    }
    // A bulk load can write responses without opening the activity; they are records too.
    ASSIGN_OR_RETURN(bool has_responses, ActivityHasResponses(tx, id));
    if (has_responses) {
      return runtime::FailedPrecondition(
          "RESPONSES", a.name(), "the activity has responses; consultation records are kept");
    }
    RETURN_IF_ERROR(DeleteActivityRows(tx, id));
    runtime::log::Info("activity deleted", {{"activity", a.name()}});
    out->Clear();
    return absl::OkStatus();
  });
}

}  // namespace dorset::engagement
