#include "services/engagement/api/export_reactor.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/grpc_status.h"
#include "services/engagement/domain/names.h"

namespace dorset::engagement {

grpc::ServerWriteReactor<v1::ExportResponsesChunk>* ExportReactor::Start(
    Engagement& engagement, runtime::Caller caller, std::string activity, int chunk_size,
    int64_t start_after, const std::atomic<bool>& stopping) {
  auto* reactor = new ExportReactor(engagement, std::move(caller), std::move(activity), chunk_size,
                                    start_after, stopping);
  reactor->Resume();
  return reactor;
}

ExportReactor::ExportReactor(Engagement& engagement, runtime::Caller caller, std::string activity,
                             int chunk_size, int64_t start_after, const std::atomic<bool>& stopping)
    : engagement_(engagement),
      caller_(std::move(caller)),
      activity_(std::move(activity)),
      chunk_size_(chunk_size),
      stopping_(stopping),
      after_(start_after) {}

void ExportReactor::ProduceLocked() {
  if (stopping_.load()) {
    EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                           after_ == 0 ? std::string("server shutting down; export again later")
                                       : absl::StrCat("server shutting down; resume the export "
                                                      "with start_after=",
                                                      ResponseName(activity_, after_))));
    return;
  }
  absl::StatusOr<Responses::ResponsePage> page =
      engagement_.responses().ResponsesAfter(caller_, activity_, after_, chunk_size_);
  if (!page.ok()) {
    EndLocked(runtime::ToGrpcStatus(page.status()));
    return;
  }
  if (page->responses.empty()) {
    EndLocked(grpc::Status::OK);
    return;
  }
  chunk_.Clear();
  for (v1::Response& r : page->responses) *chunk_.add_responses() = std::move(r);
  const std::string& last = chunk_.responses(chunk_.responses_size() - 1).name();
  (void)absl::SimpleAtoi(last.substr(last.rfind('/') + 1), &after_);
  WriteLocked(&chunk_);
}

}  // namespace dorset::engagement
