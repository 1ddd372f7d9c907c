// Accessible charts (see charts.h).
#include "console/charts.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace dorset::console {

SafeHtml BarChart(const std::string& id, const std::string& title, const std::string& value_name,
                  const std::vector<std::pair<std::string, int64_t>>& bars) {
  constexpr int kWidth = 640, kRow = 28, kLabel = 220, kValue = 60;
  int64_t max = 1;
  for (const auto& [label, value] : bars) max = std::max(max, value);
  const int height = std::max<int>(kRow, static_cast<int>(bars.size()) * kRow);
  SafeHtml shapes;
  SafeHtml rows;
  int i = 0;
  for (const auto& [label, value] : bars) {
    const int y = i++ * kRow;
    const int64_t w = std::max<int64_t>(0, value) * (kWidth - kLabel - kValue) / max;
    shapes += Render(R"html(<text x="0" y="{{ty}}" font-size="14" fill="#212b32">{{label}}</text>
<rect x="{{x}}" y="{{y}}" width="{{w}}" height="{{h}}" fill="#005eb8"></rect>
<text x="{{vx}}" y="{{ty}}" font-size="14" fill="#212b32">{{value}}</text>)html",
                     {{"ty", std::to_string(y + 18)},
                      {"label", label},
                      {"x", std::to_string(kLabel)},
                      {"y", std::to_string(y + 4)},
                      {"w", std::to_string(w)},
                      {"h", std::to_string(kRow - 8)},
                      {"vx", std::to_string(kLabel + w + 6)},
                      {"value", std::to_string(value)}});
    rows += Render(
        R"html(<tr class="nhsuk-table__row"><th scope="row" class="nhsuk-table__header">{{label}}</th><td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-chart-value>{{value}}</td></tr>)html",
        {{"label", label}, {"value", std::to_string(value)}});
  }
  return Render(R"html(<figure class="dorset-chart" id="{{id}}">
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{w}} {{h}}" width="100%" role="img" aria-labelledby="{{id}}-title {{id}}-desc">
<title id="{{id}}-title">{{title}}</title>
<desc id="{{id}}-desc">One bar per row of the table below, its length the {{value_name}}.</desc>
{{shapes}}
</svg>
</figure>
<table class="nhsuk-table" data-chart-table="{{id}}">
<caption class="nhsuk-table__caption nhsuk-table__caption--s">{{title}}</caption>
<thead class="nhsuk-table__head"><tr class="nhsuk-table__row"><th scope="col" class="nhsuk-table__header">Group</th><th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">{{value_name}}</th></tr></thead>
<tbody class="nhsuk-table__body">{{rows}}</tbody></table>)html",
                {{"id", id},
                 {"w", std::to_string(kWidth)},
                 {"h", std::to_string(height)},
                 {"title", title},
                 {"value_name", value_name},
                 {"shapes", shapes},
                 {"rows", rows}});
}

}  // namespace dorset::console
