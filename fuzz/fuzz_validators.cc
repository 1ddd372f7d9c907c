// Fuzzes every field validator and normaliser of the registry, checking that normalising is
// stable (a normalised value normalises to itself and is accepted).
#include <cstdint>
#include <string>

#include "services/registry/validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dorset::registry;
  const std::string input(reinterpret_cast<const char*>(data), size);
  IsPracticeCode(input);
  IsOrganisationCode(input);
  IsGoodName(input);
  IsSlug(input);
  IsTelephone(input);
  IsIsoDate(input);
  PostcodeKey(input);
  if (auto postcode = NormalizePostcode(input)) {
    auto again = NormalizePostcode(*postcode);
    if (!again || *again != *postcode) __builtin_trap();
  }
  if (auto iso = OdsDateToIso(input)) {
    if (!IsIsoDate(*iso)) __builtin_trap();
  }
  if (auto iso = DayMonthYearToIso(input)) {
    if (!IsIsoDate(*iso)) __builtin_trap();
  }
  IdFromName(input, "localities");
  return 0;
}
