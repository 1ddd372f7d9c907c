// A generator of SYNTHETIC engagement responses for tests and benchmarks. Every response's text
// starts with "[SYNTHETIC]" so generated data can never be mistaken for what a person said.
// Deterministic for a given seed; the mix (channels, sentiments, themes per response, skewed
// localities) is plausible for a county-wide consultation, not taken from any real one.
// Header-only, so dorsetctl (which links only protos) and the bulk loader share it.
#ifndef DORSET_SERVICES_ENGAGEMENT_SYNTHETIC_SYNTHETIC_RESPONSES_H_
#define DORSET_SERVICES_ENGAGEMENT_SYNTHETIC_SYNTHETIC_RESPONSES_H_

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dorset/engagement/v1/engagement.pb.h"

namespace dorset::engagement {

inline constexpr char kSyntheticMarker[] = "[SYNTHETIC]";

struct SyntheticOptions {
  uint64_t seed = 1;
  std::vector<std::string> themes;      // theme names of the activity (may be empty)
  std::vector<std::string> localities;  // locality names to draw from (may be empty)
};

class SyntheticResponses {
 public:
  explicit SyntheticResponses(SyntheticOptions options);
  // The next response (no name, no stakeholder: synthetic responses are anonymous).
  v1::Response Next();

 private:
  size_t Pick(const std::vector<int>& weights);
  SyntheticOptions options_;
  std::mt19937_64 rng_;
  std::vector<int> locality_weights_;
  uint64_t count_ = 0;
};

namespace synthetic_internal {

constexpr const char* kOpenings[] = {"I think",
                                     "As a carer I feel",
                                     "Our family believes",
                                     "Speaking for our patient group,",
                                     "As someone who works in the NHS I feel",
                                     "Living in a rural area I worry"};
constexpr const char* kViews[] = {"travel times to hospital matter more than anything else",
                                  "care closer to home would make a real difference",
                                  "the proposals need clearer detail before any change",
                                  "public transport links must be part of the plan",
                                  "staffing should be sorted out before services move",
                                  "the community hospital is vital to our town",
                                  "specialist centres will save lives if ambulances are quick"};
constexpr const char* kClosings[] = {"", " Please listen to local people.",
                                     " Thank you for asking.", " We need more information."};

}  // namespace synthetic_internal

inline SyntheticResponses::SyntheticResponses(SyntheticOptions options)
    : options_(std::move(options)), rng_(options_.seed) {
  // Skewed: earlier localities in the list are the bigger towns.
  for (size_t i = 0; i < options_.localities.size(); ++i) {
    locality_weights_.push_back(static_cast<int>(options_.localities.size() - i) + 2);
  }
}

inline size_t SyntheticResponses::Pick(const std::vector<int>& weights) {
  int total = 0;
  for (int w : weights) total += w;
  int roll = std::uniform_int_distribution<int>(0, total - 1)(rng_);
  for (size_t i = 0; i < weights.size(); ++i) {
    if (roll < weights[i]) return i;
    roll -= weights[i];
  }
  return weights.size() - 1;
}

inline v1::Response SyntheticResponses::Next() {
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
  r.set_text(absl::StrCat(kSyntheticMarker, " ", pick(synthetic_internal::kOpenings), " ",
                          pick(synthetic_internal::kViews), ".",
                          pick(synthetic_internal::kClosings), " (synthetic #", count_, ")"));
  r.set_publish_consent(Pick({6, 4}) == 0);
  return r;
}

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_SYNTHETIC_SYNTHETIC_RESPONSES_H_
