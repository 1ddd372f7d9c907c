// Channels and call contexts for the services' client libraries (see service_client.h).
#include "runtime/client/service_client.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "runtime/server/call_registry.h"

namespace dorset::runtime {

std::shared_ptr<grpc::Channel> MakeServiceChannel(const ServiceClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.max_reconnect_backoff)));
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      options.credentials ? options.credentials : grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(options.target, credentials, args);
}

std::unique_ptr<grpc::ClientContext> NewCallContext(const ServiceClientOptions& defaults,
                                                    const CallOptions& call) {
  auto context = std::make_unique<grpc::ClientContext>();
  const absl::Duration deadline =
      call.deadline > absl::ZeroDuration() ? call.deadline : defaults.deadline;
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  const std::string& token = call.bearer_token.empty() ? defaults.bearer_token : call.bearer_token;
  if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  context->AddMetadata("x-request-id", call.request_id.empty() ? NewRequestId() : call.request_id);
  return context;
}

}  // namespace dorset::runtime
