// The server-streaming export of an activity's responses. It reads one page at a time (keyed on
// the response id, so a page costs the same at row 10 or row 1,000,000) and asks for the next page
// only when gRPC has sent the last one: memory stays at one chunk whatever the activity's size.
// A message carries at most `chunk_size` responses and at most the reply byte budget. It starts
// after response id `start_after` (the resume cursor) and says, when it ends at shutdown, which
// name to resume after. Redaction is the caller's, as for every read.
#ifndef DORSET_SERVICES_ENGAGEMENT_EXPORT_REACTOR_H_
#define DORSET_SERVICES_ENGAGEMENT_EXPORT_REACTOR_H_

#include <atomic>
#include <string>

#include "grpcpp/support/server_callback.h"
#include "runtime/auth/caller.h"
#include "services/engagement/engagement.h"

namespace dorset::engagement {

class ExportReactor final : public grpc::ServerWriteReactor<v1::ExportResponsesChunk> {
 public:
  // Owns itself (gRPC's reactor idiom): freed in OnDone. `stopping` turns true at shutdown.
  static grpc::ServerWriteReactor<v1::ExportResponsesChunk>* Start(
      Engagement& engagement, runtime::Caller caller, std::string activity, int chunk_size,
      int64_t start_after, const std::atomic<bool>& stopping);

  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  ExportReactor(Engagement& engagement, runtime::Caller caller, std::string activity,
                int chunk_size, int64_t start_after, const std::atomic<bool>& stopping);
  void Next();

  Engagement& engagement_;
  const runtime::Caller caller_;
  const std::string activity_;
  const int chunk_size_;
  const std::atomic<bool>& stopping_;
  int64_t after_;  // the id of the last response sent (or of the resume cursor)
  v1::ExportResponsesChunk chunk_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_EXPORT_REACTOR_H_
