// Calls of methods this server does not serve, observed as every call is (call_observer.h): the
// method's metrics (every path outside the method table shares one "unknown" series, so invented
// names cannot grow them), x-request-id, one access-log line naming the path asked for, and
// UNIMPLEMENTED, as gRPC answers them. A callback generic service receives them; without it gRPC
// would answer them itself, unseen, since the host registers no interceptor.
#ifndef DORSET_RUNTIME_SERVER_UNKNOWN_METHODS_H_
#define DORSET_RUNTIME_SERVER_UNKNOWN_METHODS_H_

#include "grpcpp/generic/async_generic_service.h"

namespace dorset::runtime {

class CallObserver;

class UnknownMethods final : public grpc::CallbackGenericService {
 public:
  explicit UnknownMethods(CallObserver& observer) : observer_(observer) {}
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

 private:
  CallObserver& observer_;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_UNKNOWN_METHODS_H_
