// Calls one gRPC method with serialized bytes through grpc::GenericStub: a unary call, or a
// server stream read message by message. The caller's authorization and x-request-id go out as
// metadata and the deadline as the call's deadline.
#ifndef DORSET_GATEWAY_GRPC_CALLER_H_
#define DORSET_GATEWAY_GRPC_CALLER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/status.h"

namespace dorset::gateway {

struct CallMetadata {
  std::string authorization;  // passed through as is ("Bearer ...")
  std::string request_id;     // x-request-id
  std::optional<absl::Duration> timeout;
};

struct UnaryResult {
  grpc::Status status;
  std::string response;  // serialized response message when status is OK
};

// Blocks until the call ends.
UnaryResult CallUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& request, const CallMetadata& metadata);

// A server-streaming call read synchronously on its own completion queue.
class ServerStream {
 public:
  // Starts the call and sends the requests (one for a server stream; any number for a client
  // stream), then half-closes.
  ServerStream(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
               const std::vector<std::string>& requests, const CallMetadata& metadata);
  // Cancels the call if still open and drains the queue.
  ~ServerStream();
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  // The next serialized message; nullopt at the end of the stream (then status() is final).
  std::optional<std::string> Next();
  const grpc::Status& status() const { return status_; }
  void Cancel() { context_.TryCancel(); }

 private:
  bool Wait();  // waits for the one outstanding operation; its ok flag
  void Finish();

  grpc::ClientContext context_;
  grpc::CompletionQueue queue_;
  grpc::GenericStub stub_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  grpc::Status status_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_GRPC_CALLER_H_
