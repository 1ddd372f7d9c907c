// dorsetctl engagement ...: commands for the engagement service. Results print as protobuf JSON
// (one object per line), so scripts can pipe them into jq. Activity arguments take "x" or
// "activities/x"; stakeholder arguments "s" or "stakeholders/s". Decisions and their delivery
// are run by engagement_decision_commands.cc, the exports by engagement_export_commands.cc.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/cli_common.h"
#include "cli/command_groups.h"
#include "cli/engagement_cli.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/engagement/client/engagement_client.h"

namespace dorset::cli {
namespace {

namespace v1 = ::dorset::engagement::v1;

using engagement_cli::Done;
using engagement_cli::List;
using engagement_cli::Prefixed;
using engagement_cli::Print;
using engagement_cli::Session;
using engagement_cli::ThemeNameOf;
using engagement_cli::Usage;

constexpr char kDefaultTarget[] = "127.0.0.1:50053";

}  // namespace

int engagement_cli::Usage() {
  std::cerr
      << "usage: dorsetctl engagement <command> [arguments] [--option=value ...]\n"
         "  list-activities [--state=OPEN]          get-activity ACTIVITY\n"
         "  create-activity --title=T --kind=CONSULTATION|SURVEY|PUBLIC_EVENT|PPG_MEETING\n"
         "      [--id=x] [--purpose=P] [--localities=localities/a,...] "
         "[--finance_scheme=plans/...]\n"
         "      [--allowed_practices=practices/X,...] [--json='{...Activity}'] [--request_id=R]\n"
         "  open ACTIVITY | close ACTIVITY | publish ACTIVITY --summary=S\n"
         "  create-theme ACTIVITY --display_name=N [--id=x] [--description=D]\n"
         "  list-themes ACTIVITY\n"
         "  respond ACTIVITY --channel=ONLINE|LETTER|EVENT|PHONE [--text=T] [--themes=t1,t2]\n"
         "      [--sentiment=SUPPORTIVE|NEUTRAL|OPPOSED|MIXED] [--locality=localities/x]\n"
         "      [--practice=practices/X] [--stakeholder=S] [--publish_consent] [--request_id=R]\n"
         "  list-responses ACTIVITY [--page_size=N]\n"
         "  export ACTIVITY [--chunk_size=N] [--start_after=RESPONSE]   (JSON lines; resume after "
         "a\n"
         "      response name or number)\n"
         "  aggregates ACTIVITY                      you-said-we-did ACTIVITY\n"
         "  export-csv ACTIVITY [--table=responses|aggregates] [--bom] [--out=FILE]   (CSV for\n"
         "      spreadsheets)\n"
         "  report ACTIVITY [--out=FILE]             the consultation report (HTML)\n"
         "  delivery DECISION --status=PLANNED|IN_PROGRESS|DELIVERED|NOT_GOING_AHEAD\n"
         "      [--percent=N] [--reason=R] [--note=N] [--etag=E]\n"
         "      [--milestones='TITLE|YYYY-MM-DD[|DONE YYYY-MM-DD];...'] (replaces them; kept\n"
         "      when not given)   delivery-history DECISION\n"
         "  code-themes ACTIVITY --rules='THEME=kw1|kw2;THEME2=kw3' [--apply]   preview (or\n"
         "      preview and apply) bulk theme coding by keywords\n"
         "  retention [--dry-run]   erase stakeholders past the retention period (or list them)\n"
         "  create-decision ACTIVITY --summary=S [--rationale=R] [--themes=t1,...]\n"
         "      [--decided_by=B] [--published] [--id=x]\n"
         "  list-decisions ACTIVITY\n"
         "  delete-activity ACTIVITY | delete-theme THEME | delete-decision DECISION [--etag=E]\n"
         "      (an activity only while DRAFT, a theme no response or decision uses, a decision\n"
         "      only while unpublished; stakeholders are erased and responses moderated)\n"
         "  create-stakeholder --kind=PATIENT|CARER|... [--display_name=N] [--organisation=O]\n"
         "      [--email=E] [--phone=P] [--contact_consent] [--publish_consent]\n"
         "  get-stakeholder S | list-stakeholders | erase-stakeholder S\n"
         "  generate ACTIVITY --count=N [--seed=1] [--localities=localities/a,...]\n"
         "      sends N SYNTHETIC responses (text marked [SYNTHETIC]) through CreateResponse\n";
  return 2;
}

int RunEngagementCommand(int argc, char** argv) {
  if (argc < 1) return Usage();
  const std::string command = argv[0];
  Args args(argc, argv, 1);
  auto connection = Connect(args, "engagement", kDefaultTarget);
  if (!connection.ok()) {
    std::cerr << connection.status() << "\n";
    return 2;
  }
  Session s{*connection, engagement::EngagementClient::ForChannel(connection->channel,
                                                                  ClientOptionsOf(*connection))};
  const auto& pos = args.positional();
  auto need = [&](size_t n) { return pos.size() >= n; };
  const std::string activity = need(1) ? Prefixed(pos[0], "activities") : "";
  if (engagement_cli::IsDecisionCommand(command)) {
    return engagement_cli::RunDecisionCommand(command, args, s);
  }
  if (engagement_cli::IsExportCommand(command)) {
    return engagement_cli::RunExportCommand(command, args, s);
  }

  if (command == "list-activities") {
    v1::ListActivitiesRequest request;
    v1::ActivityState state = v1::ACTIVITY_STATE_UNSPECIFIED;
    if (!EnumFlag(args, "state", &state)) return 2;
    request.set_state(state);
    while (true) {
      absl::StatusOr<v1::ListActivitiesResponse> reply = s.client->ListActivities(request);
      if (!reply.ok()) return ReportError(reply.status());
      const v1::ListActivitiesResponse& page = *reply;
      for (const auto& a : page.activities()) Print(a);
      if (page.next_page_token().empty()) return 0;
      request.set_page_token(page.next_page_token());
    }
  }
  if (command == "get-activity" && need(1)) {
    v1::GetActivityRequest request;
    request.set_name(activity);
    return Done(s.client->GetActivity(request));
  }
  if (command == "create-activity") {
    v1::CreateActivityRequest request;
    if (args.Has("json") &&
        !google::protobuf::util::JsonStringToMessage(*args.Get("json"), request.mutable_activity())
             .ok()) {
      std::cerr << "--json is not an Activity\n";
      return 2;
    }
    v1::Activity& a = *request.mutable_activity();
    if (args.Has("title")) a.set_title(*args.Get("title"));
    if (args.Has("purpose")) a.set_purpose(*args.Get("purpose"));
    if (args.Has("finance_scheme")) a.set_finance_scheme(*args.Get("finance_scheme"));
    for (const auto& l : List(args.GetOr("localities", ""))) a.add_localities(l);
    for (const auto& p : List(args.GetOr("allowed_practices", ""))) {
      a.add_allowed_practices(Prefixed(p, "practices"));
    }
    if (args.Has("kind")) {
      v1::ActivityKind kind = v1::ACTIVITY_KIND_UNSPECIFIED;
      if (!EnumFlag(args, "kind", &kind)) return 2;
      a.set_kind(kind);
    }
    request.set_activity_id(args.GetOr("id", ""));
    request.set_request_id(args.GetOr("request_id", ""));
    return Done(s.client->CreateActivity(request));
  }
  if ((command == "open" || command == "close") && need(1)) {
    v1::Activity out;
    if (command == "open") {
      v1::OpenActivityRequest request;
      request.set_name(activity);
      return Done(s.client->OpenActivity(request));
    }
    v1::CloseActivityRequest request;
    request.set_name(activity);
    return Done(s.client->CloseActivity(request));
  }
  if (command == "publish" && need(1)) {
    v1::PublishOutcomeRequest request;
    request.set_name(activity);
    request.set_outcome_summary(args.GetOr("summary", ""));
    return Done(s.client->PublishOutcome(request));
  }
  if (command == "create-theme" && need(1)) {
    v1::CreateThemeRequest request;
    request.set_parent(activity);
    request.set_theme_id(args.GetOr("id", ""));
    request.mutable_theme()->set_display_name(args.GetOr("display_name", ""));
    request.mutable_theme()->set_description(args.GetOr("description", ""));
    return Done(s.client->CreateTheme(request));
  }
  if (command == "list-themes" && need(1)) {
    v1::ListThemesRequest request;
    request.set_parent(activity);
    request.set_page_size(500);
    return Done(s.client->ListThemes(request));
  }
  if (command == "respond" && need(1)) {
    v1::CreateResponseRequest request;
    request.set_parent(activity);
    request.set_request_id(args.GetOr("request_id", ""));
    v1::Response& r = *request.mutable_response();
    v1::Channel channel = v1::CHANNEL_ONLINE;
    if (!EnumFlag(args, "channel", &channel)) return 2;
    r.set_channel(channel);
    v1::Sentiment sentiment = v1::SENTIMENT_UNSPECIFIED;
    if (!EnumFlag(args, "sentiment", &sentiment)) return 2;
    r.set_sentiment(sentiment);
    r.set_text(args.GetOr("text", ""));
    r.set_locality(args.GetOr("locality", ""));
    r.set_practice(args.GetOr("practice", ""));
    if (args.Has("stakeholder"))
      r.set_stakeholder(Prefixed(*args.Get("stakeholder"), "stakeholders"));
    r.set_publish_consent(args.Has("publish_consent"));
    for (const auto& t : List(args.GetOr("themes", ""))) r.add_themes(ThemeNameOf(activity, t));
    return Done(s.client->CreateResponse(request));
  }
  if (command == "list-responses" && need(1)) {
    v1::ListResponsesRequest request;
    request.set_parent(activity);
    int page_size = 0;
    (void)absl::SimpleAtoi(args.GetOr("page_size", "100"), &page_size);
    request.set_page_size(page_size);
    request.set_page_token(args.GetOr("page_token", ""));
    return Done(s.client->ListResponses(request));
  }
  if (command == "aggregates" && need(1)) {
    v1::GetActivityAggregatesRequest request;
    request.set_name(activity + "/aggregates");
    return Done(s.client->GetActivityAggregates(request));
  }
  if (command == "code-themes" && need(1)) {
    // --rules=THEME=kw1|kw2;THEME2=kw3 (THEME an id of the activity or a full theme name).
    v1::PreviewThemeCodingRequest preview;
    preview.set_parent(activity);
    for (absl::string_view rule : absl::StrSplit(args.GetOr("rules", ""), ';', absl::SkipEmpty())) {
      std::pair<std::string, std::string> parts = absl::StrSplit(rule, absl::MaxSplits('=', 1));
      v1::ThemeRule* r = preview.add_rules();
      r->set_theme(ThemeNameOf(activity, parts.first));
      for (absl::string_view k : absl::StrSplit(parts.second, '|', absl::SkipEmpty())) {
        r->add_keywords(std::string(k));
      }
    }
    // Both read (and apply writes) every response of a consultation: tens of thousands, each
    // change its own transaction, so a loaded machine needs longer than the default 30 s.
    const runtime::CallOptions bulk = WithDeadline(absl::Minutes(10));
    absl::StatusOr<v1::ThemeCodingPreview> previewed = s.client->PreviewThemeCoding(preview, bulk);
    if (!previewed.ok() || !args.Has("apply")) return Done(previewed);
    v1::ApplyThemeCodingRequest apply;
    apply.set_parent(activity);
    *apply.mutable_rules() = preview.rules();
    apply.set_preview_token(previewed->preview_token());
    return Done(s.client->ApplyThemeCoding(apply, bulk));
  }
  if (command == "retention") {
    if (args.Has("dry-run") || args.Has("dry_run")) {
      v1::PreviewRetentionRequest request;
      request.set_page_size(1000);
      return Done(s.client->PreviewRetention(request));
    }
    v1::RunRetentionRequest request;
    return Done(s.client->RunRetention(request));
  }
  if (command == "you-said-we-did" && need(1)) {
    v1::GetYouSaidWeDidRequest request;
    request.set_name(activity + "/youSaidWeDid");
    return Done(s.client->GetYouSaidWeDid(request));
  }
  if (command == "create-stakeholder") {
    v1::CreateStakeholderRequest request;
    v1::Stakeholder& st = *request.mutable_stakeholder();
    v1::StakeholderKind kind = v1::STAKEHOLDER_KIND_UNSPECIFIED;
    if (!EnumFlag(args, "kind", &kind)) return 2;
    if (kind == v1::STAKEHOLDER_KIND_UNSPECIFIED) return Usage();
    st.set_kind(kind);
    st.set_display_name(args.GetOr("display_name", ""));
    st.set_organisation(args.GetOr("organisation", ""));
    st.mutable_contact()->set_email(args.GetOr("email", ""));
    st.mutable_contact()->set_phone(args.GetOr("phone", ""));
    st.mutable_contact()->set_postal_address(args.GetOr("postal_address", ""));
    st.mutable_contact_consent()->set_granted(args.Has("contact_consent"));
    st.mutable_publish_consent()->set_granted(args.Has("publish_consent"));
    st.set_locality(args.GetOr("locality", ""));
    request.set_request_id(args.GetOr("request_id", ""));
    return Done(s.client->CreateStakeholder(request));
  }
  if (command == "get-stakeholder" && need(1)) {
    v1::GetStakeholderRequest request;
    request.set_name(Prefixed(pos[0], "stakeholders"));
    return Done(s.client->GetStakeholder(request));
  }
  if (command == "list-stakeholders") {
    v1::ListStakeholdersRequest request;
    while (true) {
      absl::StatusOr<v1::ListStakeholdersResponse> reply = s.client->ListStakeholders(request);
      if (!reply.ok()) return ReportError(reply.status());
      const v1::ListStakeholdersResponse& page = *reply;
      for (const auto& st : page.stakeholders()) Print(st);
      if (page.next_page_token().empty()) return 0;
      request.set_page_token(page.next_page_token());
    }
  }
  if (command == "erase-stakeholder" && need(1)) {
    v1::EraseStakeholderRequest request;
    request.set_name(Prefixed(pos[0], "stakeholders"));
    return Done(s.client->EraseStakeholder(request));
  }
  if (command == "delete-activity" && need(1)) {
    v1::DeleteActivityRequest request;
    request.set_name(activity);
    request.set_etag(args.GetOr("etag", ""));
    google::protobuf::Empty out;
    return Done(s.client->DeleteActivity(request));
  }
  if (command == "delete-theme" && need(1)) {
    v1::DeleteThemeRequest request;
    request.set_name(pos[0]);
    request.set_etag(args.GetOr("etag", ""));
    google::protobuf::Empty out;
    return Done(s.client->DeleteTheme(request));
  }
  return Usage();
}

}  // namespace dorset::cli
