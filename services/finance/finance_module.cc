#include "services/finance/finance_module.h"

#include "dorset/finance/v1/finance.grpc.pb.h"
#include "runtime/server/unary.h"

namespace dorset::finance {

class FinanceServiceImpl final : public dorset::finance::v1::FinanceService::CallbackService {
 public:
  explicit FinanceServiceImpl(runtime::CallGate& gate) : gate_(gate) {}
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const v1::PingRequest* request, v1::PingResponse* response) override {
    return runtime::Unary(gate_, context, [](const runtime::Caller&) { return absl::OkStatus(); });
  }

 private:
  runtime::CallGate& gate_;
};

FinanceModule::FinanceModule() = default;
FinanceModule::~FinanceModule() = default;

absl::Status FinanceModule::Init(const runtime::ServiceEnv& env) {
  service_ = std::make_unique<FinanceServiceImpl>(env.gate);
  return absl::OkStatus();
}

std::vector<grpc::Service*> FinanceModule::Services() { return {service_.get()}; }

std::vector<std::string> FinanceModule::HealthNames() {
  return {std::string(v1::FinanceService::service_full_name())};
}

}  // namespace dorset::finance
