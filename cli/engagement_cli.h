// What dorsetctl engagement's command files share: the session (the connection and the client),
// the argument forms ("x" or "activities/x"), comma lists, and results printed as protobuf JSON
// (one object per line); and the groups of commands kept apart from engagement_commands.cc:
// decisions and their delivery (engagement_decision_commands.cc), exports, the consultation
// report and synthetic responses (engagement_export_commands.cc).
//   if (IsDecisionCommand(command)) return RunDecisionCommand(command, args, session);
//   return Done(session.client->GetActivity(request));  // prints the reply, or the error
#ifndef DORSET_CLI_ENGAGEMENT_CLI_H_
#define DORSET_CLI_ENGAGEMENT_CLI_H_

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/cli_common.h"
#include "google/protobuf/message.h"
#include "services/engagement/client/engagement_client.h"

namespace dorset::cli::engagement_cli {

struct Session {
  Connection connection;
  std::unique_ptr<engagement::EngagementClient> client;
};

// Prints the engagement group's usage on stderr; the exit code (2). In engagement_commands.cc.
int Usage();

inline std::string Prefixed(const std::string& value, const std::string& collection) {
  return value.rfind(collection + "/", 0) == 0 ? value : absl::StrCat(collection, "/", value);
}

inline std::string ThemeNameOf(const std::string& activity, const std::string& theme) {
  return theme.find('/') != std::string::npos ? theme : absl::StrCat(activity, "/themes/", theme);
}

inline std::vector<std::string> List(const std::string& joined) {
  std::vector<std::string> out;
  if (joined.empty()) return out;
  for (absl::string_view part : absl::StrSplit(joined, ',')) out.emplace_back(part);
  return out;
}

inline void Print(const google::protobuf::Message& message) {
  std::cout << ToJson(message) << "\n";
}

template <typename Message>
int Done(const absl::StatusOr<Message>& reply) {
  if (!reply.ok()) return ReportError(reply.status());
  Print(*reply);
  return 0;
}

// create-decision, list-decisions, delete-decision, delivery, delivery-history.
bool IsDecisionCommand(const std::string& command);
// export, export-csv, report, generate.
bool IsExportCommand(const std::string& command);
// Run one command of their group; the exit code (Usage() when its arguments are missing).
int RunDecisionCommand(const std::string& command, const Args& args, Session& s);
int RunExportCommand(const std::string& command, const Args& args, Session& s);

}  // namespace dorset::cli::engagement_cli

#endif  // DORSET_CLI_ENGAGEMENT_CLI_H_
