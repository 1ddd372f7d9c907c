// The gRPC face of engagement's outcome tracking and analysis: decision delivery, retention,
// CSV exports, the consultation report and bulk theme coding. Each handler admits the caller
// through the CallGate, caps the request's repeated fields and calls the domain part.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/api/repeated_limits.h"
#include "runtime/server/stream_call.h"
#include "runtime/server/streaming.h"
#include "runtime/server/unary.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/api/engagement_service.h"

namespace dorset::engagement {

using runtime::Caller;
using runtime::Unary;

namespace {

// The documented caps (docs/engagement.md); any other repeated field takes the default.
constexpr runtime::RepeatedLimit kOutcomeLimits[] = {
    {"delivery.milestones", 50},
    {"rules", 100},
    {"rules.keywords", 50},
};

// Writes a file's pieces as CsvChunk messages, one after another; owns itself (freed in
// OnDone), as gRPC's reactor examples do. The call is observed through its StreamCall
// (runtime/server/stream_call.h), taken when made and ended in OnDone.
class PiecesWriter final : public grpc::ServerWriteReactor<v1::CsvChunk> {
 public:
  explicit PiecesWriter(std::vector<std::string> pieces)
      : call_(runtime::StreamCall::Adopt()), pieces_(std::move(pieces)) {
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      runtime::FinishObserved(call_.get(), this,
                              grpc::Status(grpc::StatusCode::CANCELLED, "export cancelled"));
      return;
    }
    Next();
  }
  void OnDone() override {
    call_.reset();  // the call's metrics and access-log line
    delete this;
  }

 private:
  void Next() {
    if (next_ == pieces_.size()) {
      runtime::FinishObserved(call_.get(), this, grpc::Status::OK);
      return;
    }
    chunk_.set_data(std::move(pieces_[next_++]));
    StartWrite(&chunk_);
  }

  std::unique_ptr<runtime::StreamCall> call_;  // null when not observed
  std::vector<std::string> pieces_;
  size_t next_ = 0;
  v1::CsvChunk chunk_;
};

}  // namespace

grpc::ServerUnaryReactor* EngagementServiceImpl::UpdateDecisionDelivery(
    Ctx* c, const v1::UpdateDecisionDeliveryRequest* q, v1::Decision* r) {
  return Unary(gate_, c, kOutcomeLimits, *q, r,
               std::bind_front(&DecisionDelivery::Update, &delivery_));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::ListDeliveryChanges(
    Ctx* c, const v1::ListDeliveryChangesRequest* q, v1::ListDeliveryChangesResponse* r) {
  return Unary(gate_, c, kOutcomeLimits, *q, r,
               std::bind_front(&DecisionDelivery::ListChanges, &delivery_));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::PreviewRetention(
    Ctx* c, const v1::PreviewRetentionRequest* q, v1::RetentionPreview* r) {
  return Unary(gate_, c, kOutcomeLimits, *q, r, std::bind_front(&Retention::Preview, &retention_));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::RunRetention(Ctx* c,
                                                              const v1::RunRetentionRequest* q,
                                                              v1::RetentionRun* r) {
  return Unary(gate_, c, kOutcomeLimits, *q, r, std::bind_front(&Retention::Run, &retention_));
}
grpc::ServerWriteReactor<v1::CsvChunk>* EngagementServiceImpl::ExportCsv(
    Ctx* c, const v1::ExportCsvRequest* q) {
  using Refused = runtime::RefusedStream<v1::CsvChunk>;
  absl::StatusOr<Caller> caller = gate_.Admit(*c);
  if (!caller.ok()) return Refused::Create(caller.status());
  absl::StatusOr<std::vector<std::string>> pieces = analysis_.ExportCsv(*caller, *q);
  if (!pieces.ok()) return Refused::Create(pieces.status());
  return new PiecesWriter(*std::move(pieces));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::GetConsultationReport(
    Ctx* c, const v1::GetConsultationReportRequest* q, v1::ConsultationReport* r) {
  return Unary(gate_, c, kOutcomeLimits, *q, r,
               std::bind_front(&Analysis::GetConsultationReport, &analysis_));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::PreviewThemeCoding(
    Ctx* c, const v1::PreviewThemeCodingRequest* q, v1::ThemeCodingPreview* r) {
  return Unary(gate_, c, kOutcomeLimits, *q, r, std::bind_front(&ThemeCoder::Preview, &coder_));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::ApplyThemeCoding(
    Ctx* c, const v1::ApplyThemeCodingRequest* q, v1::ThemeCoding* r) {
  return Unary(gate_, c, kOutcomeLimits, *q, r, std::bind_front(&ThemeCoder::Apply, &coder_));
}
grpc::ServerUnaryReactor* EngagementServiceImpl::ListThemeCodings(
    Ctx* c, const v1::ListThemeCodingsRequest* q, v1::ListThemeCodingsResponse* r) {
  return Unary(gate_, c, kOutcomeLimits, *q, r, std::bind_front(&ThemeCoder::List, &coder_));
}

}  // namespace dorset::engagement
