// CSV exports and the consultation report (analysis.h).
#include "services/engagement/domain/analysis.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "runtime/api/enum_names.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/text/csv_writer.h"
#include "runtime/text/html_escape.h"
#include "services/engagement/domain/names.h"

namespace dorset::engagement {
namespace {

using runtime::EscapeHtml;

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return absl::InfinitePast();
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Who coded what, for a spreadsheet cell: per theme "{theme id} {how}[ by {principal}] at
// {time}", "; "-separated, where how is "given with the response", "by hand" or "by rule {k} of
// themeCodings/{n}" (the principal is left out where the caller may not see it).
std::string AssignmentsCell(const v1::Response& r) {
  std::string cell;
  for (const v1::ThemeAssignment& a : r.theme_assignments()) {
    std::string how;
    switch (a.method()) {
      case v1::THEME_ASSIGNMENT_METHOD_ON_CREATION:
        how = "given with the response";
        break;
      case v1::THEME_ASSIGNMENT_METHOD_BY_HAND:
        how = "by hand";
        break;
      case v1::THEME_ASSIGNMENT_METHOD_CODING_RULE: {
        const std::string& coding = a.theme_coding();
        const size_t at = coding.find("themeCodings/");
        how = absl::StrCat("by rule ", a.rule_number(), " of ",
                           at == std::string::npos ? coding : coding.substr(at));
        break;
      }
      default:
        how = "not recorded";
    }
    absl::StrAppend(
        &cell, cell.empty() ? "" : "; ", a.theme().substr(a.theme().rfind('/') + 1), " ", how,
        a.assigned_by().empty() ? "" : absl::StrCat(" by ", a.assigned_by()), " at ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", ToTime(a.assign_time()), absl::UTCTimeZone()));
  }
  return cell;
}

void CountTable(std::string& html, const char* heading, const char* key_heading,
                const google::protobuf::RepeatedPtrField<v1::Count>& counts) {
  absl::StrAppend(&html, "<h2>", heading, "</h2>\n<table>\n<tr><th>", key_heading,
                  "</th><th>Responses</th></tr>\n");
  for (const v1::Count& count : counts) {
    absl::StrAppend(&html, "<tr><td>",
                    EscapeHtml(count.key().empty() ? "(not given)" : count.key()), "</td><td>",
                    count.responses(), "</td></tr>\n");
  }
  html += "</table>\n";
}

}  // namespace

absl::StatusOr<std::vector<std::string>> Analysis::ExportCsv(const runtime::Caller& caller,
                                                             const v1::ExportCsvRequest& request,
                                                             size_t piece_bytes) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  RETURN_IF_ERROR(engagement_.CheckActivityExists(activity));
  std::vector<std::string> pieces;
  switch (request.table()) {
    case v1::CSV_TABLE_RESPONSES:
      RETURN_IF_ERROR(
          ResponsesCsv(caller, activity, request.byte_order_mark(), piece_bytes, pieces));
      break;
    case v1::CSV_TABLE_AGGREGATES:
      RETURN_IF_ERROR(AggregatesCsv(activity, request.byte_order_mark(), pieces));
      break;
    default:
      return runtime::InvalidArgument("table", "must be RESPONSES or AGGREGATES");
  }
  return pieces;
}

absl::Status Analysis::ResponsesCsv(const runtime::Caller& caller, const std::string& activity,
                                    bool bom, size_t piece_bytes,
                                    std::vector<std::string>& pieces) {
  runtime::CsvWriter csv({.byte_order_mark = bom});
  csv.Row({"response", "create_time", "update_time", "channel", "sentiment", "locality", "practice",
           "themes", "theme_assignments", "anonymised", "personal_data_redacted", "text"});
  int64_t after = 0;
  while (true) {
    ASSIGN_OR_RETURN(Responses::ResponsePage page,
                     engagement_.responses().ResponsesAfter(caller, activity, after, 1000));
    for (const v1::Response& r : page.responses) {
      std::string themes;
      for (const std::string& theme : r.themes()) {
        absl::StrAppend(&themes, themes.empty() ? "" : ";", theme.substr(theme.rfind('/') + 1));
      }
      csv.Text(r.name())
          .Time(ToTime(r.create_time()))
          .Time(ToTime(r.update_time()))
          .Text(runtime::EnumShortName(r.channel()))
          .Text(runtime::EnumShortName(r.sentiment()))
          .Text(r.locality())
          .Text(r.practice())
          .Text(themes)
          .Text(AssignmentsCell(r))
          .Text(r.anonymised() ? "true" : "false")
          .Text(r.personal_data_redacted() ? "true" : "false")
          .Text(r.text())
          .EndRow();
      if (csv.size() >= piece_bytes) pieces.push_back(csv.Take());
      const std::string& name = r.name();
      after = std::stoll(name.substr(name.rfind('/') + 1));
    }
    if (!page.more || page.responses.empty()) break;
  }
  if (csv.size() > 0) pieces.push_back(csv.Take());
  return absl::OkStatus();
}

absl::Status Analysis::AggregatesCsv(const std::string& activity, bool bom,
                                     std::vector<std::string>& pieces) {
  v1::GetActivityAggregatesRequest request;
  request.set_name(absl::StrCat(ActivityName(activity), "/aggregates"));
  v1::ActivityAggregates aggregates;
  RETURN_IF_ERROR(engagement_.aggregates().GetActivityAggregates(request, &aggregates));
  runtime::CsvWriter csv({.byte_order_mark = bom});
  csv.Row({"dimension", "key", "responses"});
  csv.Text("total").Text("").Int(aggregates.total_responses()).EndRow();
  const std::pair<const char*, const google::protobuf::RepeatedPtrField<v1::Count>*> dims[] = {
      {"theme", &aggregates.by_theme()},
      {"sentiment", &aggregates.by_sentiment()},
      {"channel", &aggregates.by_channel()},
      {"locality", &aggregates.by_locality()},
  };
  for (const auto& [dimension, counts] : dims) {
    for (const v1::Count& count : *counts) {
      csv.Text(dimension).Text(count.key()).Int(count.responses()).EndRow();
    }
  }
  pieces.push_back(csv.Take());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Decision>> Analysis::AllDecisions(const std::string& activity) {
  std::vector<v1::Decision> decisions;
  v1::ListDecisionsRequest request;
  request.set_parent(ActivityName(activity));
  request.set_page_size(1000);
  do {
    v1::ListDecisionsResponse page;
    RETURN_IF_ERROR(engagement_.themes_and_decisions().ListDecisions(request, &page));
    for (v1::Decision& d : *page.mutable_decisions()) decisions.push_back(std::move(d));
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return decisions;
}

absl::StatusOr<std::vector<v1::Theme>> Analysis::AllThemes(const std::string& activity) {
  std::vector<v1::Theme> themes;
  v1::ListThemesRequest request;
  request.set_parent(ActivityName(activity));
  request.set_page_size(1000);
  do {
    v1::ListThemesResponse page;
    RETURN_IF_ERROR(engagement_.themes_and_decisions().ListThemes(request, &page));
    for (v1::Theme& t : *page.mutable_themes()) themes.push_back(std::move(t));
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  return themes;
}

absl::Status Analysis::GetConsultationReport(const v1::GetConsultationReportRequest& request,
                                             v1::ConsultationReport* out) {
  constexpr std::string_view kSuffix = "/consultationReport";
  const std::string& name = request.name();
  if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) {
    return runtime::InvalidArgument("name", "must be activities/{activity}/consultationReport");
  }
  ASSIGN_OR_RETURN(std::string activity,
                   ParseActivityName(name.substr(0, name.size() - kSuffix.size()), "name"));
  v1::GetActivityRequest get;
  get.set_name(ActivityName(activity));
  v1::Activity act;
  RETURN_IF_ERROR(engagement_.activities().GetActivity(get, &act));
  v1::GetActivityAggregatesRequest agg_request;
  agg_request.set_name(absl::StrCat(ActivityName(activity), "/aggregates"));
  v1::ActivityAggregates aggregates;
  RETURN_IF_ERROR(engagement_.aggregates().GetActivityAggregates(agg_request, &aggregates));
  ASSIGN_OR_RETURN(std::vector<v1::Theme> themes, AllThemes(activity));
  ASSIGN_OR_RETURN(std::vector<v1::Decision> decisions, AllDecisions(activity));

  const absl::Time now = engagement_.Now();
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n<title>",
      EscapeHtml(act.title()),
      " - consultation report</title>\n<style>body{font-family:Arial,sans-serif}"
      "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 8px;"
      "text-align:left}</style>\n</head>\n<body>\n<h1>",
      EscapeHtml(act.title()), "</h1>\n<p>State: ", runtime::EnumShortName(act.state()),
      ". Report produced ", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone()),
      ".</p>\n");
  if (!act.purpose().empty()) absl::StrAppend(&html, "<p>", EscapeHtml(act.purpose()), "</p>\n");
  absl::StrAppend(&html,
                  "<h2>Responses</h2>\n<p>Responses recorded: ", aggregates.total_responses(), ".");
  if (act.reported_participants() > 0) {
    absl::StrAppend(&html, " Participants reported: ", act.reported_participants(), " (",
                    EscapeHtml(act.reported_source()), ").");
  }
  html += "</p>\n";
  // Themes by their titles, not their ids.
  google::protobuf::RepeatedPtrField<v1::Count> by_theme;
  for (const v1::Count& count : aggregates.by_theme()) {
    v1::Count* titled = by_theme.Add();
    *titled = count;
    for (const v1::Theme& theme : themes) {
      if (theme.name() == count.key()) titled->set_key(theme.display_name());
    }
  }
  CountTable(html, "By theme", "Theme", by_theme);
  CountTable(html, "By sentiment", "Sentiment", aggregates.by_sentiment());
  CountTable(html, "By channel", "Channel", aggregates.by_channel());
  CountTable(html, "By locality", "Locality", aggregates.by_locality());
  html += "<h2>Decisions and their delivery</h2>\n";
  if (decisions.empty()) {
    html += "<p>No decisions recorded.</p>\n";
  } else {
    html +=
        "<table>\n<tr><th>Decision</th><th>Decided by</th><th>Published</th>"
        "<th>Delivery</th><th>Complete</th></tr>\n";
    for (const v1::Decision& d : decisions) {
      const bool has_delivery = d.has_delivery() && d.delivery().status() != 0;
      absl::StrAppend(
          &html, "<tr><td>", EscapeHtml(d.summary()), "</td><td>", EscapeHtml(d.decided_by()),
          "</td><td>", d.published() ? "yes" : "no", "</td><td>",
          has_delivery ? runtime::EnumShortName(d.delivery().status()) : std::string("PLANNED"),
          has_delivery && !d.delivery().reason().empty()
              ? absl::StrCat(": ", EscapeHtml(d.delivery().reason()))
              : std::string(),
          "</td><td>", has_delivery ? d.delivery().percent_complete() : 0, " %</td></tr>\n");
    }
    html += "</table>\n";
  }
  if (!act.outcome_summary().empty()) {
    absl::StrAppend(&html, "<h2>Outcome</h2>\n<p>", EscapeHtml(act.outcome_summary()), "</p>\n");
  }
  html += "</body>\n</html>\n";
  out->set_name(name);
  out->set_html(std::move(html));
  *out->mutable_generate_time() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(now));
  return absl::OkStatus();
}

}  // namespace dorset::engagement
