// Engagement's analysis outputs, independent of gRPC: an activity's responses and aggregates as
// CSV (the shared hardened writer, runtime/text/csv_writer.h) and the consultation report as an
// HTML document for a board paper. Built on Engagement's reads, so redaction (and the audit of
// personal-data reads, through the caller) is the same as GetResponse's.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_ANALYSIS_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_ANALYSIS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/auth/caller.h"
#include "services/engagement/domain/engagement.h"

namespace dorset::engagement {

class Analysis {
 public:
  explicit Analysis(Engagement& engagement) : engagement_(engagement) {}

  // The CSV file of request.table, in pieces of about `piece_bytes` (whole rows each), in order.
  // INVALID_ARGUMENT for a bad parent or table, NOT_FOUND for an unknown activity.
  absl::StatusOr<std::vector<std::string>> ExportCsv(const runtime::Caller& caller,
                                                     const v1::ExportCsvRequest& request,
                                                     size_t piece_bytes = 1 << 20);

  // The report of activities/{activity}/consultationReport: no personal data in it (counts,
  // themes, decisions and their delivery; never a response's text).
  absl::Status GetConsultationReport(const v1::GetConsultationReportRequest& request,
                                     v1::ConsultationReport* out);

 private:
  absl::Status ResponsesCsv(const runtime::Caller& caller, const std::string& activity, bool bom,
                            size_t piece_bytes, std::vector<std::string>& pieces);
  absl::Status AggregatesCsv(const std::string& activity, bool bom,
                             std::vector<std::string>& pieces);
  absl::StatusOr<std::vector<v1::Decision>> AllDecisions(const std::string& activity);
  absl::StatusOr<std::vector<v1::Theme>> AllThemes(const std::string& activity);

  Engagement& engagement_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_ANALYSIS_H_
