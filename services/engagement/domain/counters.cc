#include "services/engagement/domain/counters.h"

#include <string_view>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace dorset::engagement {

std::string ChannelKey(v1::Channel channel) {
  switch (channel) {
    case v1::CHANNEL_UNSPECIFIED:
      return "CHANNEL_UNSPECIFIED";
    case v1::CHANNEL_ONLINE:
      return "ONLINE";
    case v1::CHANNEL_LETTER:
      return "LETTER";
    case v1::CHANNEL_EVENT:
      return "EVENT";
    case v1::CHANNEL_PHONE:
      return "PHONE";
    default:
      return absl::StrCat(static_cast<int>(channel));
  }
}

std::string SentimentKey(v1::Sentiment sentiment) {
  switch (sentiment) {
    case v1::SENTIMENT_UNSPECIFIED:
      return "SENTIMENT_UNSPECIFIED";
    case v1::SENTIMENT_SUPPORTIVE:
      return "SUPPORTIVE";
    case v1::SENTIMENT_NEUTRAL:
      return "NEUTRAL";
    case v1::SENTIMENT_OPPOSED:
      return "OPPOSED";
    case v1::SENTIMENT_MIXED:
      return "MIXED";
    default:
      return absl::StrCat(static_cast<int>(sentiment));
  }
}

void ForEachCounterCell(v1::Channel channel, v1::Sentiment sentiment, const std::string& locality,
                        const std::vector<std::string>& theme_ids,
                        absl::FunctionRef<void(std::string_view, std::string_view)> cell) {
  const std::string sentiment_name = SentimentKey(sentiment);
  cell(kDimTotal, "");
  cell(kDimChannel, ChannelKey(channel));
  cell(kDimSentiment, sentiment_name);
  cell(kDimLocality, locality);
  std::string theme_sentiment;
  for (const std::string& theme : theme_ids) {
    cell(kDimTheme, theme);
    theme_sentiment.assign(theme).append("/").append(sentiment_name);
    cell(kDimThemeSentiment, theme_sentiment);
  }
}

std::vector<CounterCell> CounterCells(v1::Channel channel, v1::Sentiment sentiment,
                                      const std::string& locality,
                                      const std::vector<std::string>& theme_ids) {
  std::vector<CounterCell> cells;
  cells.reserve(4 + 2 * theme_ids.size());
  ForEachCounterCell(channel, sentiment, locality, theme_ids,
                     [&cells](std::string_view dimension, std::string_view key) {
                       cells.emplace_back(dimension, key);
                     });
  return cells;
}

void AddCell(CounterSums& sums, std::string_view activity, std::string_view dimension,
             std::string_view key, int64_t delta) {
  const std::tuple<std::string_view, std::string_view, std::string_view> cell(activity, dimension,
                                                                              key);
  auto it = sums.lower_bound(cell);
  if (it == sums.end() || sums.key_comp()(cell, it->first)) {
    it = sums.emplace_hint(it, std::piecewise_construct,
                           std::forward_as_tuple(activity, dimension, key),
                           std::forward_as_tuple(0));
  }
  it->second += delta;
}

void AddCells(CounterSums& sums, const std::string& activity, const std::vector<CounterCell>& cells,
              int64_t delta) {
  for (const auto& [dimension, key] : cells) AddCell(sums, activity, dimension, key, delta);
}

}  // namespace dorset::engagement
