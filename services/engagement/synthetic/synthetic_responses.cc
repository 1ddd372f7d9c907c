#include "services/engagement/synthetic/synthetic_responses.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace dorset::engagement {
namespace {

constexpr const char* kOpenings[] = {
    "I think", "As a carer I feel", "Our family believes", "Speaking for our patient group,",
    "As someone who works in the NHS I feel", "Living in a rural area I worry"};
constexpr const char* kViews[] = {
    "travel times to hospital matter more than anything else",
    "care closer to home would make a real difference",
    "the proposals need clearer detail before any change",
    "public transport links must be part of the plan",
    "staffing should be sorted out before services move",
    "the community hospital is vital to our town",
    "specialist centres will save lives if ambulances are quick"};
constexpr const char* kClosings[] = {"", " Please listen to local people.",
                                     " Thank you for asking.", " We need more information."};

}  // namespace

SyntheticResponses::SyntheticResponses(SyntheticOptions options)
    : options_(std::move(options)), rng_(options_.seed) {
  // Skewed: earlier localities in the list are the bigger towns.
  for (size_t i = 0; i < options_.localities.size(); ++i) {
    locality_weights_.push_back(static_cast<int>(options_.localities.size() - i) + 2);
  }
}

size_t SyntheticResponses::Pick(const std::vector<int>& weights) {
  int total = 0;
  for (int w : weights) total += w;
  int roll = std::uniform_int_distribution<int>(0, total - 1)(rng_);
  for (size_t i = 0; i < weights.size(); ++i) {
    if (roll < weights[i]) return i;
    roll -= weights[i];
  }
  return weights.size() - 1;
}

v1::Response SyntheticResponses::Next() {
  ++count_;
  v1::Response r;
  static const std::vector<int> kChannelWeights = {70, 15, 10, 5};  // online, letter, event, phone
  r.set_channel(static_cast<v1::Channel>(1 + Pick(kChannelWeights)));
  static const std::vector<int> kSentimentWeights = {10, 30, 20, 30, 10};  // unassessed first
  r.set_sentiment(static_cast<v1::Sentiment>(Pick(kSentimentWeights)));
  if (!options_.localities.empty() && Pick({9, 1}) == 0) {
    r.set_locality(options_.localities[Pick(locality_weights_)]);
  }
  if (!options_.themes.empty()) {
    static const std::vector<int> kThemeCountWeights = {15, 50, 25, 10};  // 0..3 themes
    const size_t want = std::min(Pick(kThemeCountWeights), options_.themes.size());
    std::vector<size_t> order(options_.themes.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng_);
    std::sort(order.begin(), order.begin() + static_cast<long>(want));
    for (size_t i = 0; i < want; ++i) r.add_themes(options_.themes[order[i]]);
  }
  auto pick = [&](auto& array) {
    return array[std::uniform_int_distribution<size_t>(0, std::size(array) - 1)(rng_)];
  };
  r.set_text(absl::StrCat(kSyntheticMarker, " ", pick(kOpenings), " ", pick(kViews), ".",
                          pick(kClosings), " (synthetic #", count_, ")"));
  r.set_publish_consent(Pick({6, 4}) == 0);
  return r;
}

}  // namespace dorset::engagement
