// Fuzzes the bearer-tokens file parser (an operator-edited file read at runtime).
#include <cstdint>
#include <string>

#include "runtime/auth/token_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto table = dorset::runtime::ParseTokensFile(input);
  if (table.ok()) {
    for (const auto& [key, identity] : *table) {
      if (identity.roles.empty() || identity.principal.empty()) __builtin_trap();
    }
  }
  return 0;
}
