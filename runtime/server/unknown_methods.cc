#include "runtime/server/unknown_methods.h"

#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "runtime/audit/audit_log.h"
#include "runtime/auth/permissions.h"
#include "runtime/logging/log.h"
#include "runtime/server/call_observer.h"
#include "runtime/server/call_registry.h"

namespace dorset::runtime {
namespace {

// Answers UNIMPLEMENTED without reading the request, and observes the call.
class Unimplemented final : public grpc::ServerGenericBidiReactor {
 public:
  Unimplemented(grpc::GenericCallbackServerContext* context, CallObserver& observer)
      : context_(context), start_(absl::Now()) {
    // A path in the method table keeps its own labels (a method of another service, called here
    // by mistake); any other path is "unknown", and logged as the client sent it, made printable.
    const std::string& path = context->method();
    const std::optional<Permission> permission = RequiredPermission(path);
    const size_t slash = path.rfind('/');
    labelled_ = permission.has_value() && slash != std::string::npos && slash > 0;
    metrics_ = &observer.ForMethod(path, labelled_);
    metrics_->Started().Increment();
    const auto& metadata = context->client_metadata();
    if (auto it = metadata.find("x-request-id");
        it != metadata.end() &&
        AcceptableRequestId(absl::string_view(it->second.data(), it->second.size()))) {
      request_id_.assign(it->second.data(), it->second.size());
    } else {
      request_id_ = NewRequestId();
    }
    context->AddInitialMetadata("x-request-id", request_id_);
    // A write's method is audited whatever its outcome, here too (nobody was admitted).
    if (AuditLog* audit = observer.audit();
        audit != nullptr && labelled_ && IsWritePermission(*permission)) {
      common::v1::AuditEvent event;
      event.set_method(path);
      event.set_action("WRITE");
      event.set_request_id(request_id_);
      event.set_outcome(CodeName(grpc::StatusCode::UNIMPLEMENTED));
      audit->Record(std::move(event), [this](const absl::Status&) { End(); });
      return;
    }
    End();
  }

  void OnDone() override {
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    metrics_->Handled(grpc::StatusCode::UNIMPLEMENTED).Increment();
    metrics_->Latency().Observe(seconds);
    if (log::Enabled(log::Level::kInfo)) {
      const std::string& path = context_->method();
      log::Info("rpc", {{"method", labelled_ ? path : LoggableMethod(path)},
                        {"status", CodeName(grpc::StatusCode::UNIMPLEMENTED)},
                        {"duration_ms", seconds * 1000.0},
                        {"peer", context_->peer()},
                        {"principal", ""},
                        {"request_id", request_id_}});
    }
    delete this;
  }

 private:
  void End() { Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "")); }

  grpc::GenericCallbackServerContext* const context_;
  const absl::Time start_;
  bool labelled_ = false;
  MethodMetrics* metrics_ = nullptr;
  std::string request_id_;
};

}  // namespace

grpc::ServerGenericBidiReactor* UnknownMethods::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  return new Unimplemented(context, observer_);
}

}  // namespace dorset::runtime
