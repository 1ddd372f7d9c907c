// Bulk theme coding by keyword rules (issue 17), independent of gRPC: a preview that changes
// nothing and says what the rules would do (with a token over exactly that), and an apply that
// refuses unless the same rules would still do exactly what was previewed, then adds the themes
// (with their counters, through Responses::UpdateResponse) and records who coded what.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_THEME_CODING_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_THEME_CODING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
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
  // One response that would gain themes: its name and its whole new theme list.
  struct Change {
    std::string response;
    std::vector<std::string> themes;
  };
  struct Plan {
    std::vector<v1::ThemeCodingEffect> effects;
    std::vector<Change> changes;
    int64_t examined = 0;
    std::string token;
  };
  absl::StatusOr<Plan> Compute(const std::string& parent,
                               const google::protobuf::RepeatedPtrField<v1::ThemeRule>& rules,
                               int examples);

  Engagement& engagement_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_THEME_CODING_H_
