#include "runtime/server/call_registry.h"

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"

namespace dorset::runtime {
namespace {

struct Registry {
  absl::Mutex mu;
  absl::flat_hash_map<const grpc::ServerContextBase*, std::shared_ptr<CallInfo>> calls
      ABSL_GUARDED_BY(mu);
};

Registry& Calls() {
  static auto* registry = new Registry();  // never destroyed: calls may end during exit
  return *registry;
}

}  // namespace

void CallInfo::set_request_id(std::string id) {
  absl::MutexLock lock(&mu_);
  request_id_ = std::move(id);
}
std::string CallInfo::request_id() const {
  absl::MutexLock lock(&mu_);
  return request_id_;
}
void CallInfo::set_principal(std::string principal) {
  absl::MutexLock lock(&mu_);
  principal_ = std::move(principal);
}
std::string CallInfo::principal() const {
  absl::MutexLock lock(&mu_);
  return principal_;
}

void RegisterCall(const grpc::ServerContextBase* context, std::shared_ptr<CallInfo> info) {
  Registry& r = Calls();
  absl::MutexLock lock(&r.mu);
  r.calls[context] = std::move(info);
}

void UnregisterCall(const grpc::ServerContextBase* context) {
  Registry& r = Calls();
  absl::MutexLock lock(&r.mu);
  r.calls.erase(context);
}

std::shared_ptr<CallInfo> FindCall(const grpc::ServerContextBase* context) {
  Registry& r = Calls();
  absl::MutexLock lock(&r.mu);
  auto it = r.calls.find(context);
  return it == r.calls.end() ? nullptr : it->second;
}

size_t LiveCallCount() {
  Registry& r = Calls();
  absl::MutexLock lock(&r.mu);
  return r.calls.size();
}

std::string NewRequestId() {
  // Once per call: written out by hand (StrFormat cost more than the rest of the id).
  thread_local absl::BitGen gen;
  constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    uint64_t bits = absl::Uniform<uint64_t>(gen);
    for (int i = 15; i >= 0; --i, bits >>= 4) id[half * 16 + i] = kHex[bits & 0xf];
  }
  return id;
}

}  // namespace dorset::runtime
