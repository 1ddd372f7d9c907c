// Bulk theme coding by keyword rules (issue 17), independent of gRPC: a preview that changes
// nothing and says what the rules would do (with a token over exactly that), and an apply that
// refuses unless the same rules would still do exactly what was previewed, then adds the themes
// (with their counters) and records who coded what. An apply is one write transaction: the plan
// is recomputed and checked against the token, every response changed, the counters moved (once
// per cell, summed) and the coding recorded together, or nothing is (all or nothing per call);
// a request_id makes a retry answer with the first call's coding.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_THEME_CODING_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_THEME_CODING_H_

#include <string>

#include "absl/status/status.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/auth/caller.h"
#include "services/engagement/domain/engagement.h"

namespace dorset::engagement {

// True when `text` contains `keyword` as a whole word (or phrase), ignoring ASCII case.
bool ContainsWord(const std::string& lowered_text, const std::string& lowered_keyword);

class ThemeCoder {
 public:
  explicit ThemeCoder(Engagement& engagement) : engagement_(engagement) {}

  absl::Status Preview(const v1::PreviewThemeCodingRequest& request, v1::ThemeCodingPreview* out);
  absl::Status Apply(const runtime::Caller& caller, const v1::ApplyThemeCodingRequest& request,
                     v1::ThemeCoding* out);
  absl::Status List(const v1::ListThemeCodingsRequest& request, v1::ListThemeCodingsResponse* out);

 private:
  Engagement& engagement_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_THEME_CODING_H_
