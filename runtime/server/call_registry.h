// Per-call facts of a streaming call shared between its StreamCall (stream_call.h: made before the
// handler runs, ended by the reactor) and the handler, which admits through
// CallGate::Admit(context). Keyed by the call's ServerContext. Unary calls keep theirs in
// UnaryCall and do not pass here.
#ifndef DORSET_RUNTIME_SERVER_CALL_REGISTRY_H_
#define DORSET_RUNTIME_SERVER_CALL_REGISTRY_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace grpc {
class ServerContextBase;
}

namespace dorset::runtime {

class CallInfo {
 public:
  explicit CallInfo(std::string method) : method_(std::move(method)) {}
  const std::string& method() const { return method_; }

  void set_request_id(std::string id) ABSL_LOCKS_EXCLUDED(mu_);
  std::string request_id() const ABSL_LOCKS_EXCLUDED(mu_);
  void set_principal(std::string principal) ABSL_LOCKS_EXCLUDED(mu_);
  std::string principal() const ABSL_LOCKS_EXCLUDED(mu_);
  // Set by handlers (through Caller) when the response carried personal data unredacted.
  const std::shared_ptr<std::atomic<bool>>& personal_data_read() const {
    return personal_data_read_;
  }

 private:
  const std::string method_;
  mutable absl::Mutex mu_;
  std::string request_id_ ABSL_GUARDED_BY(mu_);
  std::string principal_ ABSL_GUARDED_BY(mu_);
  const std::shared_ptr<std::atomic<bool>> personal_data_read_ =
      std::make_shared<std::atomic<bool>>(false);
};

// Registers the CallInfo of a live call. StreamCall adds and removes; handlers look up.
void RegisterCall(const grpc::ServerContextBase* context, std::shared_ptr<CallInfo> info);
void UnregisterCall(const grpc::ServerContextBase* context);
// The CallInfo of a live call, or nullptr when the call was not registered.
std::shared_ptr<CallInfo> FindCall(const grpc::ServerContextBase* context);

// How many calls are registered now (tests prove that no per-call state outlives its call).
size_t LiveCallCount();

// A fresh random request id (32 hex digits).
std::string NewRequestId();

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_CALL_REGISTRY_H_
