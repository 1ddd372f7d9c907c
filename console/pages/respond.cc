// The public response form for an OPEN consultation (no login) and its confirmation. The
// response goes through the engagement API like any other (channel ONLINE), with an optional
// locality or practice chosen from the registry and an explained consent to publish the words.
// Asks for no personal data at all. Protected by a CSRF token bound to the browser's cookie and
// by a per-client-address rate limit; each form carries a submission id sent as the request_id,
// so a double submit records one response.
#include <httplib.h>

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "console/layout.h"
#include "console/pages/pages.h"
#include "console/pages/public_text.h"
#include "google/rpc/error_details.pb.h"
#include "runtime/server/call_registry.h"

namespace dorset::console {
namespace {

namespace v1 = engagement::v1;

constexpr size_t kMaxText = 5000;  // characters people are told they may write (bytes checked)

struct FormInput {
  std::string text;
  std::string sentiment;  // "", SUPPORTIVE, NEUTRAL, OPPOSED, MIXED
  std::string locality;   // "" or localities/x
  std::string practice;   // "" or practices/X
  bool publish_consent = false;
  std::string submission;  // 32 hex digits
};

struct FieldError {
  std::string field;  // the form field's id
  std::string message;
};

struct Choices {
  std::vector<registry::v1::Locality> localities;
  std::vector<registry::v1::Practice> practices;
};

// The registry's localities and open practices (the activity's own when it names them).
absl::StatusOr<Choices> LoadChoices(ConsoleContext& context, const v1::Activity& activity) {
  Choices choices;
  absl::StatusOr<std::vector<registry::v1::Locality>> localities =
      context.registry->ListLocalities();
  if (!localities.ok()) return localities.status();
  for (const auto& l : *localities) {
    if (activity.localities().empty() ||
        std::find(activity.localities().begin(), activity.localities().end(), l.name()) !=
            activity.localities().end()) {
      choices.localities.push_back(l);
    }
  }
  registry::v1::ListPracticesRequest request;
  request.add_statuses(registry::v1::Practice::STATUS_ACTIVE);
  absl::StatusOr<std::vector<registry::v1::Practice>> practices =
      context.registry->ListAllPractices(request);
  if (!practices.ok()) return practices.status();
  for (const auto& p : *practices) {
    const bool allowed =
        activity.allowed_practices().empty() ||
        std::find(activity.allowed_practices().begin(), activity.allowed_practices().end(),
                  p.name()) != activity.allowed_practices().end();
    const bool in_area = activity.localities().empty() ||
                         std::find(activity.localities().begin(), activity.localities().end(),
                                   p.locality()) != activity.localities().end();
    if (allowed && in_area && !p.locality().empty()) choices.practices.push_back(p);
  }
  std::sort(choices.practices.begin(), choices.practices.end(),
            [](const auto& a, const auto& b) { return a.display_name() < b.display_name(); });
  return choices;
}

SafeHtml Option(const std::string& value, const std::string& text, const std::string& selected) {
  return Render(value == selected ? R"html(<option value="{{v}}" selected>{{t}}</option>)html"
                                  : R"html(<option value="{{v}}">{{t}}</option>)html",
                {{"v", value}, {"t", text}});
}

const FieldError* ErrorFor(const std::vector<FieldError>& errors, const std::string& field) {
  for (const FieldError& e : errors) {
    if (e.field == field) return &e;
  }
  return nullptr;
}

SafeHtml ErrorMessage(const FieldError* error) {
  if (error == nullptr) return SafeHtml();
  return Render(
      R"html(<span class="nhsuk-error-message" id="{{id}}-error"><span class="nhsuk-u-visually-hidden">Error:</span> {{m}}</span>)html",
      {{"id", error->field}, {"m", error->message}});
}

std::string GroupClass(const FieldError* error) {
  return error ? "nhsuk-form-group nhsuk-form-group--error" : "nhsuk-form-group";
}

SafeHtml FormPage(const v1::Activity& activity, const Choices& choices, const FormInput& input,
                  const std::vector<FieldError>& errors, const std::string& csrf_token,
                  const std::string& general_error) {
  const std::string id = ActivityId(activity.name());
  SafeHtml localities = Option("", "Prefer not to say", input.locality);
  for (const auto& l : choices.localities)
    localities += Option(l.name(), l.display_name(), input.locality);
  // Practices grouped by locality, so the list reads in the same terms as the question above.
  std::map<std::string, std::string> locality_names;
  for (const auto& l : choices.localities) locality_names[l.name()] = l.display_name();
  std::map<std::string, SafeHtml> groups;
  for (const auto& p : choices.practices) {
    groups[p.locality()] +=
        Option(p.name(), absl::StrCat(p.display_name(), " (", p.postcode(), ")"), input.practice);
  }
  SafeHtml practices = Option("", "Prefer not to say", input.practice);
  for (const auto& [locality, options] : groups) {
    auto it = locality_names.find(locality);
    practices += Render(
        R"html(<optgroup label="{{label}}">{{options}}</optgroup>)html",
        {{"label", it != locality_names.end() ? it->second : locality}, {"options", options}});
  }
  SafeHtml sentiments;
  const std::pair<const char*, const char*> kSentiments[] = {
      {"SUPPORTIVE", "In favour"},
      {"OPPOSED", "Against"},
      {"MIXED", "Both for and against"},
      {"NEUTRAL", "Neither for nor against"}};
  int n = 0;
  for (const auto& [value, label] : kSentiments) {
    const std::string item_id = n++ == 0 ? "sentiment" : absl::StrCat("sentiment-", n);
    sentiments += Render(
        input.sentiment == value
            ? R"html(<div class="nhsuk-radios__item"><input class="nhsuk-radios__input" id="{{id}}" name="sentiment" type="radio" value="{{v}}" checked><label class="nhsuk-label nhsuk-radios__label" for="{{id}}">{{l}}</label></div>)html"
            : R"html(<div class="nhsuk-radios__item"><input class="nhsuk-radios__input" id="{{id}}" name="sentiment" type="radio" value="{{v}}"><label class="nhsuk-label nhsuk-radios__label" for="{{id}}">{{l}}</label></div>)html",
        {{"id", item_id}, {"v", std::string(value)}, {"l", std::string(label)}});
  }
  std::vector<std::pair<std::string, std::string>> summary;
  if (!general_error.empty()) summary.push_back({general_error, "#text"});
  for (const FieldError& e : errors) summary.push_back({e.message, "#" + e.field});
  const FieldError* text_error = ErrorFor(errors, "text");
  const FieldError* locality_error = ErrorFor(errors, "locality");
  const FieldError* practice_error = ErrorFor(errors, "practice");
  SafeHtml content =
      Render(R"html({{summary}}
<h1>Respond: {{title}}</h1>
<p>Tell us what you think. We do not ask for your name or any contact details.</p>
<form method="post" action="/consultations/{{id}}/respond" novalidate>
<input type="hidden" name="csrf_token" value="{{csrf}}">
<input type="hidden" name="submission" value="{{submission}}">
<div class="{{text_group}}">
<h2 class="nhsuk-label-wrapper"><label class="nhsuk-label nhsuk-label--m" for="text">Your response</label></h2>
<div class="nhsuk-hint" id="text-hint">Up to {{max}} characters. Please do not include your name, address or anything else that says who you are.</div>
{{text_error}}
<textarea class="nhsuk-textarea{{text_error_class}}" id="text" name="text" rows="6" aria-describedby="text-hint{{text_described}}">{{text}}</textarea>
</div>
<div class="nhsuk-form-group">
<fieldset class="nhsuk-fieldset" aria-describedby="sentiment-hint">
<legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--m">What do you think of the proposal? (optional)</legend>
<div class="nhsuk-hint" id="sentiment-hint">This helps us count views fairly.</div>
<div class="nhsuk-radios" data-module="nhsuk-radios">{{sentiments}}</div>
</fieldset>
</div>
<div class="{{locality_group}}">
<label class="nhsuk-label" for="locality">Where do you live? (optional)</label>
<div class="nhsuk-hint" id="locality-hint">Choose your area, so we can see how views differ across Dorset.</div>
{{locality_error}}
<select class="nhsuk-select" id="locality" name="locality" aria-describedby="locality-hint">{{localities}}</select>
</div>
<div class="{{practice_group}}">
<label class="nhsuk-label" for="practice">Your GP practice (optional)</label>
<div class="nhsuk-hint" id="practice-hint">If you choose a practice, its area is used and you need not choose one above.</div>
{{practice_error}}
<select class="nhsuk-select" id="practice" name="practice" aria-describedby="practice-hint">{{practices}}</select>
</div>
<div class="nhsuk-form-group">
<fieldset class="nhsuk-fieldset" aria-describedby="consent-hint">
<legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--m">Publishing your words</legend>
<div class="nhsuk-hint" id="consent-hint">Everyone's response is read and counted. If you agree, we may also quote what you wrote on the "We asked, you said, we did" page for this consultation, without your name. If you do not agree, your words are never published. You cannot change this after you send your response.</div>
<div class="nhsuk-checkboxes" data-module="nhsuk-checkboxes">
<div class="nhsuk-checkboxes__item">
<input class="nhsuk-checkboxes__input" id="publish_consent" name="publish_consent" type="checkbox" value="yes"{{consent_checked}}>
<label class="nhsuk-label nhsuk-checkboxes__label" for="publish_consent">I agree that my words may be published without my name</label>
</div>
</div>
</fieldset>
</div>
<button class="nhsuk-button" data-module="nhsuk-button" type="submit">Send response</button>
</form>)html",
             {{"summary", summary.empty() ? SafeHtml() : ErrorSummary(summary)},
              {"title", activity.title()},
              {"id", id},
              {"csrf", csrf_token},
              {"submission", input.submission},
              {"text_group", GroupClass(text_error)},
              {"max", std::to_string(kMaxText)},
              {"text_error", ErrorMessage(text_error)},
              {"text_error_class", std::string(text_error ? " nhsuk-textarea--error" : "")},
              {"text_described", std::string(text_error ? " text-error" : "")},
              {"text", input.text},
              {"sentiments", sentiments},
              {"locality_group", GroupClass(locality_error)},
              {"locality_error", ErrorMessage(locality_error)},
              {"localities", localities},
              {"practice_group", GroupClass(practice_error)},
              {"practice_error", ErrorMessage(practice_error)},
              {"practices", practices},
              {"consent_checked", input.publish_consent ? Trusted(" checked") : SafeHtml()}});
  return Page({absl::StrCat("Respond: ", activity.title()),
               "consultations",
               {{"Consultations", "/consultations"},
                {activity.title(), absl::StrCat("/consultations/", id)}},
               !summary.empty()},
              content);
}

// The activity, when it is open for responses (otherwise NOT_FOUND for drafts and a clear
// FAILED_PRECONDITION for the rest).
absl::StatusOr<v1::Activity> OpenActivity(ConsoleContext& context, const std::string& id) {
  v1::GetActivityRequest request;
  request.set_name(absl::StrCat("activities/", id));
  absl::StatusOr<v1::Activity> activity = context.engagement->GetActivity(request);
  if (!activity.ok()) return activity.status();
  if (!IsPublic(*activity)) return absl::NotFoundError("draft");
  if (activity->state() != v1::ACTIVITY_STATE_OPEN) {
    return absl::FailedPreconditionError("This consultation is not open for responses.");
  }
  return activity;
}

bool IsSubmissionId(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

void ShowForm(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  absl::StatusOr<v1::Activity> activity = OpenActivity(context, req.matches[1].str());
  if (!activity.ok()) return SendStatusPage(res, activity.status());
  absl::StatusOr<Choices> choices = LoadChoices(context, *activity);
  if (!choices.ok()) return SendStatusPage(res, choices.status());
  FormInput input;
  input.submission = runtime::NewRequestId();
  SendPage(res, FormPage(*activity, *choices, input, {}, context.csrf->TokenFor(req, res), ""));
}

// The API's field violations as form errors, in the form's words.
std::vector<FieldError> FieldErrors(const absl::Status& status) {
  std::vector<FieldError> errors;
  absl::optional<absl::Cord> payload =
      status.GetPayload("type.googleapis.com/google.rpc.BadRequest");
  google::rpc::BadRequest bad;
  if (!payload || !bad.ParseFromString(std::string(*payload))) return errors;
  for (const auto& v : bad.field_violations()) {
    if (v.field() == "response.text") {
      errors.push_back({"text", "Your response is too long or not valid text"});
    } else if (v.field() == "response.locality") {
      errors.push_back({"locality", "Choose the area of the practice you chose, or no area"});
    } else if (v.field() == "response.practice") {
      errors.push_back({"practice", "Choose a practice from the list"});
    }
  }
  return errors;
}

void Submit(const httplib::Request& req, httplib::Response& res, ConsoleContext& context) {
  if (!context.csrf->Verify(req)) {
    return SendPage(res,
                    MessagePage("This form could not be sent",
                                "The form was not sent from this site, or it has expired. Go back, "
                                "reload the page and try again."),
                    403);
  }
  absl::Duration retry_after;
  if (!context.respond_limit->Allow(req.remote_addr, absl::Now(), &retry_after)) {
    res.set_header("Retry-After",
                   std::to_string(std::max<int64_t>(
                       1, absl::ToInt64Seconds(absl::Ceil(retry_after, absl::Seconds(1))))));
    return SendPage(res,
                    MessagePage("Too many responses",
                                "Too many responses have been sent from your connection. Wait a "
                                "few minutes and try again."),
                    429);
  }
  absl::StatusOr<v1::Activity> activity = OpenActivity(context, req.matches[1].str());
  if (!activity.ok()) return SendStatusPage(res, activity.status());

  FormInput input;
  input.text = req.get_param_value("text");
  input.sentiment = req.get_param_value("sentiment");
  input.locality = req.get_param_value("locality");
  input.practice = req.get_param_value("practice");
  input.publish_consent = req.get_param_value("publish_consent") == "yes";
  input.submission = req.get_param_value("submission");
  if (!IsSubmissionId(input.submission)) input.submission = runtime::NewRequestId();

  std::vector<FieldError> errors;
  if (absl::StripAsciiWhitespace(input.text).empty()) {
    errors.push_back({"text", "Enter your response"});
  } else if (input.text.size() > 4 * kMaxText) {
    errors.push_back(
        {"text", absl::StrCat("Your response must be ", kMaxText, " characters or fewer")});
  }
  v1::Sentiment sentiment = v1::SENTIMENT_UNSPECIFIED;
  if (!input.sentiment.empty() &&
      !v1::Sentiment_Parse(absl::StrCat("SENTIMENT_", input.sentiment), &sentiment)) {
    input.sentiment.clear();
  }
  if (!input.locality.empty() && input.locality.rfind("localities/", 0) != 0) {
    errors.push_back({"locality", "Choose an area from the list"});
  }
  if (!input.practice.empty() && input.practice.rfind("practices/", 0) != 0) {
    errors.push_back({"practice", "Choose a practice from the list"});
  }

  absl::Status failure;
  if (errors.empty()) {
    v1::CreateResponseRequest request;
    request.set_parent(activity->name());
    request.set_request_id(absl::StrCat("console-", input.submission));
    v1::Response& r = *request.mutable_response();
    r.set_channel(v1::CHANNEL_ONLINE);
    r.set_text(input.text);
    r.set_sentiment(sentiment);
    r.set_locality(input.locality);
    r.set_practice(input.practice);
    r.set_publish_consent(input.publish_consent);
    absl::StatusOr<v1::Response> created = context.engagement->CreateResponse(request);
    if (created.ok()) {
      const std::string id = ActivityId(activity->name());
      const std::string reference = created->name().substr(created->name().rfind('/') + 1);
      SafeHtml content =
          Render(R"html(<div class="nhsuk-panel">
<h1 class="nhsuk-panel__title">Response sent</h1>
<div class="nhsuk-panel__body">Your reference: <strong data-reference>{{reference}}</strong></div>
</div>
<p>Thank you for responding to "{{title}}".</p>
<h2>What happens next</h2>
<p>Every response is read and counted. When the consultation has closed we will publish what we did with what people told us{{consent}}.</p>
<p><a href="/consultations/{{id}}">Back to the consultation</a></p>)html",
                 {{"reference", reference},
                  {"title", activity->title()},
                  {"consent", input.publish_consent
                                  ? std::string(", and may quote your words without your name")
                                  : std::string(". Your words will not be published")},
                  {"id", id}});
      return SendPage(res, Page({"Response sent",
                                 "consultations",
                                 {{"Consultations", "/consultations"},
                                  {activity->title(), absl::StrCat("/consultations/", id)}}},
                                content));
    }
    failure = created.status();
    errors = FieldErrors(failure);
    if (errors.empty() && !absl::IsInvalidArgument(failure) &&
        !absl::IsFailedPrecondition(failure)) {
      return SendStatusPage(res, failure);
    }
  }
  absl::StatusOr<Choices> choices = LoadChoices(context, *activity);
  if (!choices.ok()) return SendStatusPage(res, choices.status());
  const std::string general =
      errors.empty() && !failure.ok()
          ? absl::StrCat("We could not take your response: ", failure.message())
          : "";
  SendPage(res,
           FormPage(*activity, *choices, input, errors, context.csrf->TokenFor(req, res), general),
           400);
}

}  // namespace

void RegisterRespondPages(Router& router) {
  const std::string path = R"(/consultations/([A-Za-z0-9][A-Za-z0-9._~-]{0,62})/respond)";
  router.Get(path, ShowForm);
  router.Post(path, Submit);
}

}  // namespace dorset::console
