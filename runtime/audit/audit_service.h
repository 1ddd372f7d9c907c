// dorset.common.v1.AuditService: lets admins read a service's audit trail over gRPC.
#ifndef DORSET_RUNTIME_AUDIT_AUDIT_SERVICE_H_
#define DORSET_RUNTIME_AUDIT_AUDIT_SERVICE_H_

#include "dorset/common/v1/audit.grpc.pb.h"
#include "runtime/audit/audit_log.h"
#include "runtime/server/call_gate.h"

namespace dorset::runtime {

class AuditServiceImpl final : public common::v1::AuditService::CallbackService {
 public:
  AuditServiceImpl(CallGate& gate, AuditLog& audit) : gate_(gate), audit_(audit) {}

  grpc::ServerUnaryReactor* ListAuditEvents(grpc::CallbackServerContext* context,
                                            const common::v1::ListAuditEventsRequest* request,
                                            common::v1::ListAuditEventsResponse* response) override;

 private:
  CallGate& gate_;
  AuditLog& audit_;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_AUDIT_AUDIT_SERVICE_H_
