#include "runtime/auth/permissions.h"

#include <algorithm>
#include <array>

namespace dorset::runtime {
namespace {

struct RoleGrant {
  std::string_view role;
  std::initializer_list<Permission> permissions;
};

constexpr Permission kReads[] = {Permission::kRegistryRead, Permission::kFinanceRead,
                                 Permission::kEngagementRead};

bool IsRead(Permission p) {
  return std::find(std::begin(kReads), std::end(kReads), p) != std::end(kReads);
}

}  // namespace

std::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kPublic:
      return "public";
    case Permission::kRegistryRead:
      return "registry.read";
    case Permission::kRegistryWrite:
      return "registry.write";
    case Permission::kFinanceRead:
      return "finance.read";
    case Permission::kFinanceWrite:
      return "finance.write";
    case Permission::kFinanceAdmin:
      return "finance.admin";
    case Permission::kEngagementRead:
      return "engagement.read";
    case Permission::kEngagementWrite:
      return "engagement.write";
    case Permission::kEngagementRespond:
      return "engagement.respond";
    case Permission::kPersonalDataRead:
      return "personal_data.read";
    case Permission::kPersonalDataErase:
      return "personal_data.erase";
    case Permission::kAuditRead:
      return "audit.read";
  }
  return "unknown";
}

std::vector<std::string> KnownRoles() {
  return {"registry-reader",       "finance-reader",       "engagement-reader", "reader",
          "registry-editor",       "finance-editor",       "finance-admin",     "engagement-editor",
          "engagement-respondent", "personal-data-reader", "auditor",           "admin"};
}

bool IsWritePermission(Permission p) {
  return p == Permission::kRegistryWrite || p == Permission::kFinanceWrite ||
         p == Permission::kFinanceAdmin || p == Permission::kEngagementWrite ||
         p == Permission::kEngagementRespond || p == Permission::kPersonalDataErase;
}

bool IsKnownRole(std::string_view role) {
  const auto roles = KnownRoles();
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool RoleGrants(std::string_view role, Permission p) {
  if (p == Permission::kPublic) return true;
  if (role == "admin") return true;
  if (role == "personal-data-reader") return p == Permission::kPersonalDataRead || IsRead(p);
  if (role == "reader") return IsRead(p);
  if (role == "registry-reader") return p == Permission::kRegistryRead;
  if (role == "finance-reader") return p == Permission::kFinanceRead;
  if (role == "engagement-reader") return p == Permission::kEngagementRead;
  if (role == "auditor") return IsRead(p) || p == Permission::kAuditRead;
  if (role == "registry-editor") return IsRead(p) || p == Permission::kRegistryWrite;
  if (role == "finance-editor") return IsRead(p) || p == Permission::kFinanceWrite;
  if (role == "finance-admin") {
    return IsRead(p) || p == Permission::kFinanceWrite || p == Permission::kFinanceAdmin;
  }
  if (role == "engagement-editor") {
    return IsRead(p) || p == Permission::kEngagementWrite || p == Permission::kEngagementRespond;
  }
  if (role == "engagement-respondent") {
    return p == Permission::kRegistryRead || p == Permission::kEngagementRead ||
           p == Permission::kEngagementRespond;
  }
  return false;
}

}  // namespace dorset::runtime
