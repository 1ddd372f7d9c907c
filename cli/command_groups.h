// The list of dorsetctl command groups. Each group is defined in its own file.
#ifndef DORSET_CLI_COMMAND_GROUPS_H_
#define DORSET_CLI_COMMAND_GROUPS_H_

#include <vector>

#include "cli/cli_common.h"
#include "cli/client_settings.h"

namespace dorset::cli {

int RunHealthCommand(int argc, char** argv);      // health_commands.cc
int RunAuditCommand(int argc, char** argv);       // audit_commands.cc
int RunRegistryCommand(int argc, char** argv);    // registry_commands.cc
int RunFinanceCommand(int argc, char** argv);     // finance_commands.cc
int RunEngagementCommand(int argc, char** argv);  // engagement_commands.cc

inline const std::vector<CommandGroup>& Groups() {
  static const std::vector<CommandGroup> groups = {
      {"health",
       "check every service (gRPC health and /readyz); non-zero exit when one is not ready",
       RunHealthCommand},
      {"config", "show dorsetctl's own settings (targets, token, TLS) and where each comes from",
       RunConfigCommand},
      {"audit", "read a service's audit trail (admins, auditors)", RunAuditCommand},
      {"registry", "practices, localities, clusters, imports, change feed", RunRegistryCommand},
      {"finance", "plans, schemes, postings, reports, CSV exports", RunFinanceCommand},
      {"engagement", "stakeholders, consultations, responses, decisions", RunEngagementCommand},
  };
  return groups;
}

}  // namespace dorset::cli

#endif  // DORSET_CLI_COMMAND_GROUPS_H_
