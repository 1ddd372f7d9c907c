// Calls one gRPC method with serialized bytes through grpc::GenericStub: a unary call, or a
// server stream read message by message. The caller's authorization and x-request-id go out as
// metadata and the deadline as the call's deadline.
#ifndef DORSET_GATEWAY_GRPC_CALLER_H_
#define DORSET_GATEWAY_GRPC_CALLER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
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

// Unary calls that do not block their caller: each starts on a completion queue shared by all,
// whose threads (gRPC's pollers for these calls: the thread that reads an answer runs its
// callback) call `done` when the call ends. The gateway's event-driven front answers HTTP
// requests from there, so no thread waits per call.
class AsyncUnaryCaller {
 public:
  using Done = std::function<void(UnaryResult)>;
  explicit AsyncUnaryCaller(int threads);
  ~AsyncUnaryCaller();  // Shutdown()
  AsyncUnaryCaller(const AsyncUnaryCaller&) = delete;
  AsyncUnaryCaller& operator=(const AsyncUnaryCaller&) = delete;

  // Starts the call; false (and `done` never called) once shut down.
  bool Start(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
             const std::string& request, const CallMetadata& metadata, Done done);
  // Refuses new calls, lets the started ones end (each gets its `done`), joins the threads.
  void Shutdown();

 private:
  struct Call;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  grpc::CompletionQueue queue_;
  std::vector<std::thread> threads_;
};

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
