// The server-streaming export of an activity's responses. It reads one page at a time (keyed on
// the response id, so a page costs the same at row 10 or row 1,000,000) and asks for the next page
// only when gRPC has sent the last one: memory stays at one chunk whatever the activity's size.
// A message carries at most `chunk_size` responses and at most the reply byte budget. It starts
// after response id `start_after` (the resume cursor) and says, when it ends at shutdown, which
// name to resume after. Redaction is the caller's, as for every read. It derives from
// runtime::StreamWriter, which finishes the call exactly once on every path (cancel, a failed
// write, shutdown, an error), so a cancelled export is freed and never holds up shutdown.
#ifndef DORSET_SERVICES_ENGAGEMENT_API_EXPORT_REACTOR_H_
#define DORSET_SERVICES_ENGAGEMENT_API_EXPORT_REACTOR_H_

#include <atomic>
#include <string>

#include "grpcpp/support/server_callback.h"
#include "runtime/auth/caller.h"
#include "runtime/server/stream_writer.h"
#include "services/engagement/domain/engagement.h"

namespace dorset::engagement {

class ExportReactor final : public runtime::StreamWriter<v1::ExportResponsesChunk> {
 public:
  // Owns itself (gRPC's reactor idiom): freed in OnDone. `stopping` turns true at shutdown.
  static grpc::ServerWriteReactor<v1::ExportResponsesChunk>* Start(
      Engagement& engagement, runtime::Caller caller, std::string activity, int chunk_size,
      int64_t start_after, const std::atomic<bool>& stopping);

 private:
  ExportReactor(Engagement& engagement, runtime::Caller caller, std::string activity,
                int chunk_size, int64_t start_after, const std::atomic<bool>& stopping);
  // The next chunk, or the end of the stream (all sent, shutdown, an error).
  void ProduceLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Engagement& engagement_;
  const runtime::Caller caller_;
  const std::string activity_;
  const int chunk_size_;
  const std::atomic<bool>& stopping_;
  // The id of the last response sent (or of the resume cursor).
  int64_t after_ ABSL_GUARDED_BY(mu_);
  v1::ExportResponsesChunk chunk_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_API_EXPORT_REACTOR_H_
