// The per-activity counters behind the aggregates. Each response contributes +1 to a fixed set
// of (dimension, key) cells; the cells change in the same transaction as the response, so the
// aggregates are a small indexed read however many responses there are.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_COUNTERS_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_COUNTERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "dorset/engagement/v1/engagement.pb.h"

namespace dorset::engagement {

// Dimensions (response_count.dimension).
inline constexpr char kDimTotal[] = "total";
inline constexpr char kDimTheme[] = "theme";                     // key: theme id
inline constexpr char kDimSentiment[] = "sentiment";             // key: SentimentKey()
inline constexpr char kDimChannel[] = "channel";                 // key: ChannelKey()
inline constexpr char kDimLocality[] = "locality";               // key: locality name or ""
inline constexpr char kDimThemeSentiment[] = "theme_sentiment";  // key: "<theme id>/<Sentiment>"

// The stored (and reported, in ActivityAggregates.by_channel / by_sentiment) spelling of a
// channel or sentiment: "ONLINE", "SUPPORTIVE"; the zero values keep their full names. Fixed
// tables, not the enum's names: the enum values gained their type's prefix (CHANNEL_ONLINE) after
// counters were stored under these keys, and stored keys never change with a rename.
std::string ChannelKey(v1::Channel channel);
std::string SentimentKey(v1::Sentiment sentiment);

using CounterCell = std::pair<std::string, std::string>;  // dimension, key

std::vector<CounterCell> CounterCells(v1::Channel channel, v1::Sentiment sentiment,
                                      const std::string& locality,
                                      const std::vector<std::string>& theme_ids);
// The same cells, in the same order, each given to `cell` as (dimension, key) views valid for
// the call only, without building them (the group writer's per-response path, issue 16).
void ForEachCounterCell(v1::Channel channel, v1::Sentiment sentiment, const std::string& locality,
                        const std::vector<std::string>& theme_ids,
                        absl::FunctionRef<void(std::string_view, std::string_view)> cell);

// Cell deltas summed over a batch of responses: (activity, dimension, key) -> delta. The group
// commit writer applies them once per batch instead of once per response.
// Ordered by activity first (Aggregates::ApplyGroup walks one activity's cells); transparent, so
// a cell already in the sums is found without copying its three strings.
using CounterSums =
    std::map<std::tuple<std::string, std::string, std::string>, int64_t, std::less<>>;
void AddCells(CounterSums& sums, const std::string& activity, const std::vector<CounterCell>& cells,
              int64_t delta);
// One cell's delta (a cell already in the sums is found without copying its names).
void AddCell(CounterSums& sums, std::string_view activity, std::string_view dimension,
             std::string_view key, int64_t delta);
// Participation per 1,000 registered patients as an exact fixed-point figure: `*millis` is
// floor(responses * 1,000,000 / patients) and the result that number with three decimals
// ("2.417"); "" (and 0) when patients is not positive. Integers only, no rounding drift.
std::string PerThousand(int64_t responses, int64_t patients, int64_t* millis);

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_COUNTERS_H_
