// Who is calling: the authenticated principal of one RPC and what it may do.
#ifndef DORSET_RUNTIME_AUTH_CALLER_H_
#define DORSET_RUNTIME_AUTH_CALLER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "runtime/auth/permissions.h"

namespace dorset::runtime {

struct Caller {
  std::string principal;  // e.g. "ops-admin", "x509:finance.dorset.nhs.uk", "anonymous"
  std::vector<std::string> roles;
  std::string request_id;  // x-request-id of the call
  std::shared_ptr<std::atomic<bool>> personal_data_read =
      std::make_shared<std::atomic<bool>>(false);

  // Marks this call as having returned personal data unredacted, so it is audited.
  void NotePersonalDataRead() const { personal_data_read->store(true); }
  bool personal_data_was_read() const { return personal_data_read->load(); }

  bool Can(Permission permission) const {
    for (const std::string& role : roles) {
      if (RoleGrants(role, permission)) return true;
    }
    return false;
  }
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_AUTH_CALLER_H_
