// Fuzzes the gateway's path matcher: the first line is a google.api.http template, the rest a
// request path. Parsing refuses or accepts cleanly; a match binds exactly the template's
// variables, and every binding is a decoded value of the path (never longer than the path).
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/path_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view templ = input.substr(0, newline);
  const std::string_view path =
      newline == std::string_view::npos ? std::string_view("/") : input.substr(newline + 1);
  static const auto fixed =
      dorset::gateway::PathTemplate::Parse("/v1/{name=shelves/*/things/*}:archive");
  (void)fixed->Match(path);
  auto parsed = dorset::gateway::PathTemplate::Parse(templ);
  if (!parsed.ok()) return 0;
  auto bindings = parsed->Match(path);
  if (!bindings) return 0;
  if (bindings->size() != parsed->variables().size()) __builtin_trap();
  for (const auto& binding : *bindings) {
    if (binding.value.size() > path.size()) __builtin_trap();
  }
  (void)parsed->OpenApiPath();
  return 0;
}
