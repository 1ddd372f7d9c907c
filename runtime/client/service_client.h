// What the services' typed client libraries (services/finance/client,
// services/engagement/client) share: the channel's options, per-call options (the caller's own
// bearer token, request id and deadline) and one unary call turned into absl::StatusOr with the
// google.rpc details kept as payloads (runtime/status/grpc_status.h), plus a typed server stream.
//
// A client holds a channel and a default bearer token; a process that acts for many people (the
// web console) passes each person's token per call in CallOptions, so the service's own
// CallGate decides what that person may do.
#ifndef DORSET_RUNTIME_CLIENT_SERVICE_CLIENT_H_
#define DORSET_RUNTIME_CLIENT_SERVICE_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "runtime/status/grpc_status.h"

namespace dorset::runtime {

struct ServiceClientOptions {
  std::string target;  // host:port
  // TLS or insecure credentials; null means insecure (plaintext), for local development.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string bearer_token;  // sent as "authorization: Bearer <token>" when not empty
  absl::Duration deadline = absl::Seconds(30);  // of each call unless CallOptions says otherwise
  // Reconnect promptly after the service restarts (gRPC's default backoff grows to 120 s).
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
};

struct CallOptions {
  std::string bearer_token;                        // overrides the client's token when not empty
  std::string request_id;                          // x-request-id; a fresh one when empty
  absl::Duration deadline = absl::ZeroDuration();  // zero: the client's deadline
};

// A channel to options.target with options.credentials (insecure when null).
std::shared_ptr<grpc::Channel> MakeServiceChannel(const ServiceClientOptions& options);

// A context with the deadline, bearer token and request id of `call` over `defaults`.
std::unique_ptr<grpc::ClientContext> NewCallContext(const ServiceClientOptions& defaults,
                                                    const CallOptions& call);

// Calls one unary method of `stub`; the reply, or the status with its google.rpc details.
template <typename Stub, typename Request, typename Reply>
absl::StatusOr<Reply> CallUnary(
    Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Reply*),
    const Request& request, const ServiceClientOptions& defaults, const CallOptions& call) {
  std::unique_ptr<grpc::ClientContext> context = NewCallContext(defaults, call);
  Reply reply;
  const grpc::Status status = (stub.*method)(context.get(), request, &reply);
  if (!status.ok()) return FromGrpcStatus(status);
  return reply;
}

// A server stream with its context: Read() until false, then Finish() for the status.
template <typename Message>
class ServerStream {
 public:
  ServerStream(std::unique_ptr<grpc::ClientContext> context,
               std::unique_ptr<grpc::ClientReader<Message>> reader)
      : context_(std::move(context)), reader_(std::move(reader)) {}
  bool Read(Message* message) { return reader_->Read(message); }
  absl::Status Finish() { return FromGrpcStatus(reader_->Finish()); }

 private:
  std::unique_ptr<grpc::ClientContext> context_;  // outlives the reader
  std::unique_ptr<grpc::ClientReader<Message>> reader_;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_CLIENT_SERVICE_CLIENT_H_
