// Words and formats of the public pages (see public_text.h).
#include "console/pages/public_text.h"

#include "absl/time/time.h"
#include "console/layout.h"

namespace dorset::console {

namespace v1 = engagement::v1;

SafeHtml StateTag(v1::ActivityState state) {
  switch (state) {
    case v1::ACTIVITY_STATE_OPEN:
      return Tag("Open for responses", "green");
    case v1::ACTIVITY_STATE_CLOSED:
      return Tag("Closed", "grey");
    case v1::ACTIVITY_STATE_OUTCOME_PUBLISHED:
      return Tag("Outcome published", "blue");
    default:
      return Tag("In preparation", "white");
  }
}

std::string KindText(v1::ActivityKind kind) {
  switch (kind) {
    case v1::ACTIVITY_KIND_CONSULTATION:
      return "Consultation";
    case v1::ACTIVITY_KIND_SURVEY:
      return "Survey";
    case v1::ACTIVITY_KIND_PUBLIC_EVENT:
      return "Public event";
    case v1::ACTIVITY_KIND_PPG_MEETING:
      return "Patient participation group meeting";
    default:
      return "Engagement";
  }
}

std::string SentimentText(const std::string& key) {
  if (key == "SUPPORTIVE") return "In favour";
  if (key == "NEUTRAL") return "Neither for nor against";
  if (key == "OPPOSED") return "Against";
  if (key == "MIXED") return "Both for and against";
  return "Not assessed";
}

std::string DeliveryText(v1::DeliveryStatus status) {
  switch (status) {
    case v1::DELIVERY_STATUS_PLANNED:
      return "Planned";
    case v1::DELIVERY_STATUS_IN_PROGRESS:
      return "In progress";
    case v1::DELIVERY_STATUS_DELIVERED:
      return "Delivered";
    case v1::DELIVERY_STATUS_NOT_GOING_AHEAD:
      return "Not going ahead";
    default:
      return "Not yet planned";
  }
}

std::string DateText(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "";
  std::string text =
      absl::FormatTime("%e %B %Y", absl::FromUnixSeconds(time.seconds()), absl::UTCTimeZone());
  if (!text.empty() && text[0] == ' ') text.erase(0, 1);  // %e pads single-digit days
  return text;
}

std::string ActivityId(const std::string& name) {
  constexpr std::string_view kPrefix = "activities/";
  return name.rfind(kPrefix, 0) == 0 ? name.substr(kPrefix.size()) : name;
}

bool IsPublic(const v1::Activity& activity) {
  return activity.state() == v1::ACTIVITY_STATE_OPEN ||
         activity.state() == v1::ACTIVITY_STATE_CLOSED ||
         activity.state() == v1::ACTIVITY_STATE_OUTCOME_PUBLISHED;
}

std::map<std::string, std::string> LocalityNames(registry::RegistryClient& registry) {
  std::map<std::string, std::string> names;
  absl::StatusOr<std::vector<registry::v1::Locality>> localities = registry.ListLocalities();
  if (!localities.ok()) return names;
  for (const auto& l : *localities) names[l.name()] = l.display_name();
  return names;
}

}  // namespace dorset::console
