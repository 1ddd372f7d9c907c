#include "runtime/audit/audit_service.h"

#include "runtime/server/unary.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {

grpc::ServerUnaryReactor* AuditServiceImpl::ListAuditEvents(
    grpc::CallbackServerContext* context, const common::v1::ListAuditEventsRequest* request,
    common::v1::ListAuditEventsResponse* response) {
  return Unary(gate_, context, *request, response,
               [&](const common::v1::ListAuditEventsRequest& request) {
                 audit_.Flush();  // a reader sees every event recorded before the call
                 return audit_.List(request);
               });
}

}  // namespace dorset::runtime
