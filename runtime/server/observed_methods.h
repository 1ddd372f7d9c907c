// The host's wrapping of its services' method handlers: how every call of the method table is
// observed without a gRPC interceptor (call_observer.h). gRPC builds a ServerRpcInfo and asks an
// interceptor factory on every call as soon as one is registered, even when it returns none, so
// the host registers none: it wraps the handlers instead, before the server starts.
#ifndef DORSET_RUNTIME_SERVER_OBSERVED_METHODS_H_
#define DORSET_RUNTIME_SERVER_OBSERVED_METHODS_H_

#include "grpcpp/impl/service_type.h"

namespace dorset::runtime {

class CallGate;
class CallObserver;

// Wraps the callback methods of `service` that are in the method table: a unary handler runs
// with its method known to UnaryCall::Begin (unary_call.h); a streaming handler runs with a
// StreamCall made for it, which its reactor takes (stream_call.h). A request that does not parse
// is answered as a well-formed one would be refused first (the caller admitted by `gate`), then
// INVALID_ARGUMENT, instead of gRPC's bare UNIMPLEMENTED. Before the server starts.
void ObserveMethods(grpc::Service& service, CallObserver& observer, CallGate& gate);

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_OBSERVED_METHODS_H_
