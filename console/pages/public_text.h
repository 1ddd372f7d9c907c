// Words and formats the public pages share: an activity's state and kind as people say them,
// dates as "1 December 2026", and the id of an activity in a console address.
#ifndef DORSET_CONSOLE_PAGES_PUBLIC_TEXT_H_
#define DORSET_CONSOLE_PAGES_PUBLIC_TEXT_H_

#include <map>
#include <string>

#include "console/html.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/registry/client/registry_client.h"

namespace dorset::console {

// "Open for responses", "Closed", "Outcome published", with the tag colour.
SafeHtml StateTag(engagement::v1::ActivityState state);
std::string KindText(engagement::v1::ActivityKind kind);
std::string SentimentText(const std::string& key);  // "SUPPORTIVE" -> "In favour"
std::string DeliveryText(engagement::v1::DeliveryStatus status);
// "1 December 2026" (UTC), or "" when not set.
std::string DateText(const google::protobuf::Timestamp& time);
// "activities/x" -> "x".
std::string ActivityId(const std::string& name);
// True when an activity is one the public may see (not a draft).
bool IsPublic(const engagement::v1::Activity& activity);
// Locality resource name -> display name, from the registry (empty on failure: the pages show
// the resource name instead).
std::map<std::string, std::string> LocalityNames(registry::RegistryClient& registry);

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_PAGES_PUBLIC_TEXT_H_
