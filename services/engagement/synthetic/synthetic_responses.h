// A generator of SYNTHETIC engagement responses for tests and benchmarks. Every response's text
// starts with "[SYNTHETIC]" so generated data can never be mistaken for what a person said.
// Deterministic for a given seed; the mix (channels, sentiments, themes per response, skewed
// localities) is plausible for a county-wide consultation, not taken from any real one.
#ifndef DORSET_SERVICES_ENGAGEMENT_SYNTHETIC_SYNTHETIC_RESPONSES_H_
#define DORSET_SERVICES_ENGAGEMENT_SYNTHETIC_SYNTHETIC_RESPONSES_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

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

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_SYNTHETIC_SYNTHETIC_RESPONSES_H_
