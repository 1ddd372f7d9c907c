// The finance service's part of a ServiceHost: its store, its gRPC service objects, its health.
#ifndef DORSET_SERVICES_FINANCE_FINANCE_MODULE_H_
#define DORSET_SERVICES_FINANCE_FINANCE_MODULE_H_

#include <memory>

#include "runtime/server/service_host.h"

namespace dorset::finance {

class FinanceServiceImpl;

class FinanceModule final : public runtime::ServiceModule {
 public:
  FinanceModule();
  ~FinanceModule() override;
  absl::Status Init(const runtime::ServiceEnv& env) override;
  std::vector<grpc::Service*> Services() override;
  std::vector<std::string> HealthNames() override;

 private:
  std::unique_ptr<FinanceServiceImpl> service_;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_FINANCE_MODULE_H_
