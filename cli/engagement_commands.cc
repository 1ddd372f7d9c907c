// dorsetctl engagement ...: commands for the engagement service. Results print as protobuf JSON
// (one object per line), so scripts can pipe them into jq. Activity arguments take "x" or
// "activities/x"; stakeholder arguments "s" or "stakeholders/s".
#include <fstream>
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
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/engagement/client/engagement_client.h"
#include "services/engagement/synthetic/synthetic_responses.h"

namespace dorset::cli {
namespace {

namespace v1 = ::dorset::engagement::v1;

constexpr char kDefaultTarget[] = "127.0.0.1:50053";

struct Session {
  Connection connection;
  std::unique_ptr<engagement::EngagementClient> client;
};

int Usage() {
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

std::string Prefixed(const std::string& value, const std::string& collection) {
  return value.rfind(collection + "/", 0) == 0 ? value : absl::StrCat(collection, "/", value);
}

std::string ThemeNameOf(const std::string& activity, const std::string& theme) {
  return theme.find('/') != std::string::npos ? theme : absl::StrCat(activity, "/themes/", theme);
}

std::vector<std::string> List(const std::string& joined) {
  std::vector<std::string> out;
  if (joined.empty()) return out;
  for (absl::string_view part : absl::StrSplit(joined, ',')) out.emplace_back(part);
  return out;
}

void Print(const google::protobuf::Message& message) { std::cout << ToJson(message) << "\n"; }

// --milestones='TITLE|DUE[|DONE];…' (dates YYYY-MM-DD, midnight UTC) into `delivery`.
absl::Status ParseMilestones(const std::string& text, v1::Delivery* delivery) {
  auto day = [](absl::string_view date, google::protobuf::Timestamp* out) {
    absl::Time t;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%d", date, absl::UTCTimeZone(), &t, &error)) return false;
    out->set_seconds(absl::ToUnixSeconds(t));
    return true;
  };
  for (absl::string_view item : absl::StrSplit(text, ';', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(item, '|');
    v1::Milestone* m = delivery->add_milestones();
    if (f.size() < 2 || f.size() > 3 || f[0].empty()) {
      return absl::InvalidArgumentError("each is TITLE|YYYY-MM-DD[|YYYY-MM-DD]");
    }
    m->set_title(std::string(f[0]));
    if (!day(f[1], m->mutable_due_time()) ||
        (f.size() == 3 && !day(f[2], m->mutable_complete_time()))) {
      return absl::InvalidArgumentError(absl::StrCat("a date of '", f[0], "' is not YYYY-MM-DD"));
    }
  }
  return absl::OkStatus();
}

template <typename Message>
int Done(const absl::StatusOr<Message>& reply) {
  if (!reply.ok()) return ReportError(reply.status());
  Print(*reply);
  return 0;
}

int Generate(Session& s, const Args& args, const std::string& activity) {
  int64_t count = 0;
  uint64_t seed = 1;
  if (!absl::SimpleAtoi(args.GetOr("count", "0"), &count) || count <= 0 ||
      !absl::SimpleAtoi(args.GetOr("seed", "1"), &seed)) {
    std::cerr << "generate: --count must be a positive number (and --seed a number)\n";
    return 2;
  }
  v1::ListThemesRequest list;
  list.set_parent(activity);
  list.set_page_size(500);
  absl::StatusOr<v1::ListThemesResponse> themes = s.client->ListThemes(list);
  if (!themes.ok()) return ReportError(themes.status());
  engagement::SyntheticOptions options;
  options.seed = seed;
  for (const auto& t : themes->themes()) options.themes.push_back(t.name());
  options.localities = List(args.GetOr("localities", ""));
  engagement::SyntheticResponses generator(options);
  int64_t ok = 0;
  for (int64_t i = 0; i < count; ++i) {
    v1::CreateResponseRequest request;
    request.set_parent(activity);
    *request.mutable_response() = generator.Next();
    request.set_request_id(absl::StrCat("synthetic-", seed, "-", i));
    absl::StatusOr<v1::Response> out = s.client->CreateResponse(request);
    if (!out.ok()) return ReportError(out.status());
    ++ok;
  }
  std::cout << "{\"activity\":\"" << activity << "\",\"synthetic_responses\":" << ok << "}\n";
  return 0;
}

int Export(Session& s, const Args& args, const std::string& activity) {
  v1::ExportResponsesRequest request;
  request.set_parent(activity);
  int chunk_size = 0;
  if (!absl::SimpleAtoi(args.GetOr("chunk_size", "0"), &chunk_size)) return Usage();
  request.set_chunk_size(chunk_size);
  std::string start_after = args.GetOr("start_after", "");
  if (!start_after.empty() && start_after.find('/') == std::string::npos) {
    start_after = absl::StrCat(activity, "/responses/", start_after);  // a bare response number
  }
  request.set_start_after(start_after);
  auto reader = s.client->ExportResponses(request, WithDeadline(absl::Hours(1)));
  v1::ExportResponsesChunk chunk;
  std::string last;
  while (reader.Read(&chunk)) {
    for (const auto& r : chunk.responses()) Print(r);
    if (chunk.responses_size() > 0) last = chunk.responses(chunk.responses_size() - 1).name();
  }
  std::cout.flush();
  absl::Status status = reader.Finish();
  if (status.ok()) return 0;
  // Everything printed so far is complete: say where to pick up.
  if (!last.empty())
    std::cerr << "export stopped after " << last << "; resume with --start_after=" << last << "\n";
  return ReportError(status);
}

}  // namespace

// Writes `data` to --out=FILE, or to standard output.
int WriteOut(const Args& args, const std::string& data) {
  const std::string path = args.GetOr("out", "");
  if (path.empty()) {
    std::cout << data << std::flush;
    return std::cout.good() ? 0 : 1;
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << data;
  file.close();
  if (!file) {
    std::cerr << "cannot write " << path << "\n";
    return 1;
  }
  return 0;
}

int ExportCsv(Session& s, const Args& args, const std::string& activity) {
  const std::string table = args.GetOr("table", "responses");
  v1::ExportCsvRequest request;
  request.set_parent(activity);
  if (table == "responses") {
    request.set_table(v1::CSV_TABLE_RESPONSES);
  } else if (table == "aggregates") {
    request.set_table(v1::CSV_TABLE_AGGREGATES);
  } else {
    std::cerr << "export-csv: --table must be responses or aggregates\n";
    return 2;
  }
  request.set_byte_order_mark(args.Has("bom"));
  auto reader = s.client->ExportCsv(request);
  std::string data;
  v1::CsvChunk chunk;
  while (reader.Read(&chunk)) data += chunk.data();
  absl::Status status = reader.Finish();
  if (!status.ok()) return ReportError(status);
  return WriteOut(args, data);
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
  if (command == "export" && need(1)) return Export(s, args, activity);
  if (command == "aggregates" && need(1)) {
    v1::GetActivityAggregatesRequest request;
    request.set_name(activity + "/aggregates");
    return Done(s.client->GetActivityAggregates(request));
  }
  if (command == "export-csv" && need(1)) return ExportCsv(s, args, activity);
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
  if (command == "delivery" && need(1)) {
    v1::UpdateDecisionDeliveryRequest request;
    request.set_name(pos[0]);
    v1::DeliveryStatus status = v1::DELIVERY_STATUS_UNSPECIFIED;  // -O3 cannot see Parse sets it
    if (!v1::DeliveryStatus_Parse("DELIVERY_STATUS_" + args.GetOr("status", ""), &status)) {
      std::cerr << "delivery: --status must be PLANNED, IN_PROGRESS, DELIVERED or "
                   "NOT_GOING_AHEAD\n";
      return 2;
    }
    int percent = 0;
    if (!absl::SimpleAtoi(args.GetOr("percent", "0"), &percent)) {
      std::cerr << "delivery: --percent must be a number\n";
      return 2;
    }
    request.mutable_delivery()->set_status(status);
    request.mutable_delivery()->set_percent_complete(percent);
    request.mutable_delivery()->set_reason(args.GetOr("reason", ""));
    // The request replaces the whole delivery: --milestones gives the new list ("" clears it);
    // without it the decision's current milestones are sent back unchanged.
    if (args.Has("milestones")) {
      absl::Status parsed =
          ParseMilestones(args.GetOr("milestones", ""), request.mutable_delivery());
      if (!parsed.ok()) {
        std::cerr << "delivery: --milestones: " << parsed.message() << "\n";
        return 2;
      }
    } else {
      v1::GetDecisionRequest get;
      get.set_name(pos[0]);
      absl::StatusOr<v1::Decision> current = s.client->GetDecision(get);
      if (!current.ok()) return ReportError(current.status());
      *request.mutable_delivery()->mutable_milestones() = current->delivery().milestones();
    }
    request.set_note(args.GetOr("note", ""));
    request.set_etag(args.GetOr("etag", ""));
    return Done(s.client->UpdateDecisionDelivery(request));
  }
  if (command == "delivery-history" && need(1)) {
    v1::ListDeliveryChangesRequest request;
    request.set_parent(pos[0]);
    request.set_page_size(1000);
    return Done(s.client->ListDeliveryChanges(request));
  }
  if (command == "report" && need(1)) {
    v1::GetConsultationReportRequest request;
    request.set_name(activity + "/consultationReport");
    absl::StatusOr<v1::ConsultationReport> out = s.client->GetConsultationReport(request);
    if (!out.ok()) return ReportError(out.status());
    return WriteOut(args, out->html());
  }
  if (command == "you-said-we-did" && need(1)) {
    v1::GetYouSaidWeDidRequest request;
    request.set_name(activity + "/youSaidWeDid");
    return Done(s.client->GetYouSaidWeDid(request));
  }
  if (command == "create-decision" && need(1)) {
    v1::CreateDecisionRequest request;
    request.set_parent(activity);
    request.set_decision_id(args.GetOr("id", ""));
    v1::Decision& d = *request.mutable_decision();
    d.set_summary(args.GetOr("summary", ""));
    d.set_rationale(args.GetOr("rationale", ""));
    d.set_decided_by(args.GetOr("decided_by", ""));
    d.set_published(args.Has("published"));
    for (const auto& t : List(args.GetOr("themes", ""))) d.add_themes(ThemeNameOf(activity, t));
    return Done(s.client->CreateDecision(request));
  }
  if (command == "list-decisions" && need(1)) {
    v1::ListDecisionsRequest request;
    request.set_parent(activity);
    return Done(s.client->ListDecisions(request));
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
  if (command == "delete-decision" && need(1)) {
    v1::DeleteDecisionRequest request;
    request.set_name(pos[0]);
    request.set_etag(args.GetOr("etag", ""));
    google::protobuf::Empty out;
    return Done(s.client->DeleteDecision(request));
  }
  if (command == "generate" && need(1)) return Generate(s, args, activity);
  return Usage();
}

}  // namespace dorset::cli
