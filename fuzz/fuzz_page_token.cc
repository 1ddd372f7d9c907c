// Fuzzes page-token decoding: any bytes must be refused cleanly unless they are a token this
// codec issued for this very query, and issued tokens must always decode.
#include <cstdint>
#include <string>

#include "runtime/api/page_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const dorset::runtime::PageTokenCodec codec(std::string(32, 'k'));
  const std::string input(reinterpret_cast<const char*>(data), size);
  (void)codec.Decode("locality=purbeck", input);
  const std::string token = codec.Encode("locality=purbeck", input);
  auto back = codec.Decode("locality=purbeck", token);
  if (!back.ok() || *back != input) __builtin_trap();
  if (codec.Decode("locality=", token).ok()) __builtin_trap();
  return 0;
}
