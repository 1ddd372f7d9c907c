#include "bench/echo/echo_module.h"

#include <algorithm>
#include <atomic>

#include "dorset/bench/v1/echo.grpc.pb.h"
#include "runtime/server/unary.h"

namespace dorset::bench {

class EchoServiceImpl final : public v1::EchoService::CallbackService {
 public:
  explicit EchoServiceImpl(runtime::CallGate& gate) : gate_(gate) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const v1::EchoRequest* request,
                                 v1::EchoResponse* response) override {
    return runtime::Unary(gate_, context, *request, response, [&] {
      const int64_t delay_ms = std::max<int64_t>(delay_ms_.load(), request->delay_ms());
      if (delay_ms > 0) absl::SleepFor(absl::Milliseconds(std::min<int64_t>(delay_ms, 60000)));
      response->set_message(request->message());
      return absl::OkStatus();
    });
  }

  void set_delay(absl::Duration d) { delay_ms_ = absl::ToInt64Milliseconds(d); }

 private:
  runtime::CallGate& gate_;
  std::atomic<int64_t> delay_ms_{0};
};

EchoModule::EchoModule() = default;
EchoModule::~EchoModule() = default;

absl::Status EchoModule::Init(const runtime::ServiceEnv& env) {
  service_ = std::make_unique<EchoServiceImpl>(env.gate);
  return absl::OkStatus();
}

std::vector<grpc::Service*> EchoModule::Services() { return {service_.get()}; }

absl::Status EchoModule::CheckStore() {
  return store_ok_ ? absl::OkStatus() : absl::UnavailableError("test: store closed");
}

void EchoModule::set_echo_delay(absl::Duration delay) { service_->set_delay(delay); }

}  // namespace dorset::bench
