// Fuzzes the money parser: whatever it accepts must format and parse back to the same pence.
#include <cstdint>
#include <string>

#include "services/finance/money/money.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto pence = dorset::finance::money::ParsePounds(input);
  if (!pence.ok()) return 0;
  auto again = dorset::finance::money::ParsePounds(dorset::finance::money::FormatPounds(*pence));
  if (!again.ok() || *again != *pence) __builtin_trap();
  return 0;
}
