#include "services/engagement/engagement_module.h"

#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "runtime/server/unary.h"

namespace dorset::engagement {

class EngagementServiceImpl final : public dorset::engagement::v1::EngagementService::CallbackService {
 public:
  explicit EngagementServiceImpl(runtime::CallGate& gate) : gate_(gate) {}
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const v1::PingRequest* request, v1::PingResponse* response) override {
    return runtime::Unary(gate_, context, [](const runtime::Caller&) { return absl::OkStatus(); });
  }

 private:
  runtime::CallGate& gate_;
};

EngagementModule::EngagementModule() = default;
EngagementModule::~EngagementModule() = default;

absl::Status EngagementModule::Init(const runtime::ServiceEnv& env) {
  service_ = std::make_unique<EngagementServiceImpl>(env.gate);
  return absl::OkStatus();
}

std::vector<grpc::Service*> EngagementModule::Services() { return {service_.get()}; }

std::vector<std::string> EngagementModule::HealthNames() {
  return {std::string(v1::EngagementService::service_full_name())};
}

}  // namespace dorset::engagement
