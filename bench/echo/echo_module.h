// The bare echo service on the shared runtime: the baseline every benchmark is divided by,
// and the simplest module the runtime's own tests start.
#ifndef DORSET_BENCH_ECHO_ECHO_MODULE_H_
#define DORSET_BENCH_ECHO_ECHO_MODULE_H_

#include <atomic>
#include <memory>

#include "absl/time/time.h"
#include "runtime/server/service_host.h"

namespace dorset::bench {

class EchoServiceImpl;

class EchoModule final : public runtime::ServiceModule {
 public:
  EchoModule();
  ~EchoModule() override;
  absl::Status Init(const runtime::ServiceEnv& env) override;
  std::vector<grpc::Service*> Services() override;
  std::vector<std::string> HealthNames() override { return {"dorset.bench.v1.EchoService"}; }
  absl::Status CheckStore() override;

  // Test hooks: make the store check fail; make each Echo take `delay` (in-flight calls).
  void set_store_ok(bool ok) { store_ok_ = ok; }
  void set_echo_delay(absl::Duration delay);

 private:
  std::unique_ptr<EchoServiceImpl> service_;
  std::atomic<bool> store_ok_{true};
};

}  // namespace dorset::bench

#endif  // DORSET_BENCH_ECHO_ECHO_MODULE_H_
