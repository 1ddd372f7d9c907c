// Accessible charts for the console: inline SVG (role="img" with a title and a description)
// always followed by a table of the same figures, so a screen reader, a keyboard user or
// someone printing the page gets every number. No script and no inline style: presentation
// attributes only, which the CSP allows.
#ifndef DORSET_CONSOLE_CHARTS_H_
#define DORSET_CONSOLE_CHARTS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "console/html.h"

namespace dorset::console {

// A horizontal bar per (label, value); `id` must be unique on the page.
SafeHtml BarChart(const std::string& id, const std::string& title, const std::string& value_name,
                  const std::vector<std::pair<std::string, int64_t>>& bars);

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_CHARTS_H_
