#include "services/engagement/domain/engagement.h"

#include <span>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/bulk_load.h"

namespace dorset::engagement {

Engagement::Engagement(EngagementStore& store, RegistryLookup* registry,
                       runtime::PageTokenCodec page_tokens, EngagementOptions options)
    : context_(store, registry, std::move(page_tokens), std::move(options)) {}

Engagement::~Engagement() = default;

absl::Status Engagement::BulkLoadResponses(const std::string& activity,
                                           const std::vector<v1::Response>& responses) {
  constexpr size_t kBatch = 20000;
  const int64_t now = ToMicros(context_.Now());
  for (size_t begin = 0; begin < responses.size(); begin += kBatch) {
    const size_t end = std::min(responses.size(), begin + kBatch);
    RETURN_IF_ERROR(context_.store.Write([&](StoreTx& tx) -> absl::Status {
      return WriteBulkResponses(
          tx, activity, std::span<const v1::Response>(responses).subspan(begin, end - begin), now);
    }));
  }
  runtime::log::Info("synthetic responses bulk-loaded",
                     {{"activity", ActivityName(activity)},
                      {"responses", static_cast<int64_t>(responses.size())}});
  return absl::OkStatus();
}

}  // namespace dorset::engagement
