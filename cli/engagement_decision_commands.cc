// dorsetctl engagement's decisions (engagement_cli.h): create-decision, list-decisions and
// delete-decision, and their delivery: the status, percent and milestones (delivery), and its
// history (delivery-history).
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/cli_common.h"
#include "cli/engagement_cli.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "google/protobuf/empty.pb.h"

namespace dorset::cli::engagement_cli {
namespace {

namespace v1 = ::dorset::engagement::v1;

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

}  // namespace

bool IsDecisionCommand(const std::string& command) {
  return command == "create-decision" || command == "list-decisions" ||
         command == "delete-decision" || command == "delivery" || command == "delivery-history";
}

int RunDecisionCommand(const std::string& command, const Args& args, Session& s) {
  const auto& pos = args.positional();
  auto need = [&](size_t n) { return pos.size() >= n; };
  const std::string activity = need(1) ? Prefixed(pos[0], "activities") : "";
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
  if (command == "delete-decision" && need(1)) {
    v1::DeleteDecisionRequest request;
    request.set_name(pos[0]);
    request.set_etag(args.GetOr("etag", ""));
    google::protobuf::Empty out;
    return Done(s.client->DeleteDecision(request));
  }
  return Usage();
}

}  // namespace dorset::cli::engagement_cli
