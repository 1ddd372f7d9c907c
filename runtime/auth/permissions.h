// Roles, permissions and the one table that says which permission each gRPC method needs.
//
// Every method of every service is listed in method_permissions.cc. A method missing from the
// table is refused (PERMISSION_DENIED), so a new RPC cannot ship open by accident; the
// table-driven test in tests/runtime/auth walks the generated descriptors to prove coverage.
#ifndef DORSET_RUNTIME_AUTH_PERMISSIONS_H_
#define DORSET_RUNTIME_AUTH_PERMISSIONS_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dorset::runtime {

enum class Permission {
  kPublic,  // health and reflection (when open_health is on)
  kRegistryRead,
  kRegistryWrite,  // create/update/close practices, imports
  kFinanceRead,
  kFinanceWrite,  // postings, plans, budget lines, closing a month
  kFinanceAdmin,  // reopening a closed month
  kEngagementRead,
  kEngagementWrite,
  kEngagementRespond,  // create a response (CreateResponse) and nothing else that writes
  kPersonalDataRead,   // see stakeholders' contact details unredacted
  kPersonalDataErase,  // erase a stakeholder
  kAuditRead,
};

std::string_view PermissionName(Permission permission);

// The roles a token or certificate can carry, and what each grants.
//   registry-reader        read the registry only (likewise finance-reader, engagement-reader)
//   reader                 read registry, finance and engagement (personal data redacted)
//   auditor                reader + the audit trail
//   registry-editor        reader + registry writes
//   finance-editor         reader + finance writes
//   finance-admin          finance-editor + reopening a closed month
//   engagement-editor      reader + engagement writes
//   engagement-respondent  registry and engagement reads (personal data redacted) + creating
//                          responses: the console's public pages, no other write
//   personal-data-reader   see contact details
//   admin                  everything, including audit and erasure
bool IsKnownRole(std::string_view role);
// True for permissions that change state (every call needing one is audited).
bool IsWritePermission(Permission permission);
bool RoleGrants(std::string_view role, Permission permission);
std::vector<std::string> KnownRoles();

// The permission `full_method` ("/package.Service/Method") needs, or nullopt when the method
// is not in the table (callers must then refuse the call).
std::optional<Permission> RequiredPermission(std::string_view full_method);

// Every method the table knows, for tests and documentation.
std::vector<std::string> TableMethods();

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_AUTH_PERMISSIONS_H_
