// Escaping and templates for the console (see html.h).
#include "console/html.h"

#include "runtime/text/html_escape.h"

namespace dorset::console {

SafeHtml Trusted(std::string_view html) { return SafeHtml(std::string(html)); }

SafeHtml Text(std::string_view text) { return Trusted(runtime::EscapeHtml(text)); }

SafeHtml Render(std::string_view source_template, const HtmlValues& values) {
  std::string out;
  out.reserve(source_template.size());
  size_t at = 0;
  while (true) {
    const size_t open = source_template.find("{{", at);
    if (open == std::string_view::npos) break;
    const size_t close = source_template.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(source_template.substr(at, open - at));
    const std::string_view name = source_template.substr(open + 2, close - open - 2);
    for (const auto& [key, value] : values) {
      if (key != name) continue;
      if (const auto* text = std::get_if<std::string>(&value)) {
        out += runtime::EscapeHtml(*text);
      } else {
        out += std::get<SafeHtml>(value).str();
      }
      break;
    }
    at = close + 2;
  }
  out.append(source_template.substr(at));
  return Trusted(out);
}

SafeHtml Join(const std::vector<SafeHtml>& parts) {
  SafeHtml out;
  for (const SafeHtml& part : parts) out += part;
  return out;
}

}  // namespace dorset::console
