// The seed: Dorset's Sustainability and Transformation Plan savings (the £229m gap by 2020-21,
// from /work/shared/seeds) and one illustrative budget line for "about £1.2 billion". Loaded
// in one transaction on first start; a marker in `meta` makes it happen once, so restarts and
// a store someone has since edited are left alone.
#ifndef DORSET_SERVICES_FINANCE_SEED_H_
#define DORSET_SERVICES_FINANCE_SEED_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "services/finance/storage/store.h"

namespace dorset::finance {

inline constexpr std::string_view kSeedPlan = "plans/dorset-stp";
inline constexpr int kSeedYear = 2020;  // the plan's figures are "by 2020-21"

struct SeedScheme {
  std::string_view id;
  std::string_view display_name;
  int64_t pounds_millions;  // negative for re-investment
};

struct SeedProgramme {
  std::string_view id;
  std::string_view display_name;
  std::vector<SeedScheme> schemes;
};

// The plan as the source document gives it.
const std::vector<SeedProgramme>& SeedProgrammes();

// Loads the seed unless it was loaded before. Returns whether it loaded now.
absl::StatusOr<bool> LoadSeedOnce(FinanceStore& store);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_SEED_H_
