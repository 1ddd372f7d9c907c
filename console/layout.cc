// The console's page frame (see layout.h).
#include "console/layout.h"

namespace dorset::console {
namespace {

constexpr char kDocument[] = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{title}} - NHS Dorset</title>
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#005eb8">
<link rel="icon" href="/assets/images/favicon.ico" sizes="48x48">
<link rel="icon" href="/assets/images/favicon.svg" sizes="any" type="image/svg+xml">
<link rel="stylesheet" href="/assets/nhsuk-frontend.min.css">
<script type="module" src="/static/console.mjs"></script>
</head>
<body>
<a class="nhsuk-skip-link" href="#maincontent" data-module="nhsuk-skip-link">Skip to main content</a>
<header class="nhsuk-header" role="banner" data-module="nhsuk-header">
<div class="nhsuk-header__container nhsuk-width-container">
<div class="nhsuk-header__service">
<a class="nhsuk-header__service-logo" href="/" aria-label="NHS Dorset homepage">
<svg class="nhsuk-header__logo" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 80" height="40" width="100" focusable="false" role="img" aria-label="NHS"><title>NHS</title><path fill="currentcolor" d="M200 0v80H0V0h200Zm-27.5 5.5c-14.5 0-29 5-29 22 0 10.2 7.7 13.5 14.7 16.3l.7.3c5.4 2 10.1 3.9 10.1 8.4 0 6.5-8.5 7.5-14 7.5s-12.5-1.5-16-3.5L135 70c5.5 2 13.5 3.5 20 3.5 15.5 0 32-4.5 32-22.5 0-19.5-25.5-16.5-25.5-25.5 0-5.5 5.5-6.5 12.5-6.5a35 35 0 0 1 14.5 3l4-13.5c-4.5-2-12-3-20-3Zm-131 2h-22l-14 65H22l9-45h.5l13.5 45h21.5l14-65H64l-9 45h-.5l-13-45Zm63 0h-18l-13 65h17l6-28H117l-5.5 28H129l13.5-65H125L119.5 32h-20l5-24.5Z"></path></svg>
</a>
<a class="nhsuk-header__service-name" href="/">Dorset Digital</a>
</div>
</div>
<nav class="nhsuk-header__navigation" aria-label="Menu">
<div class="nhsuk-header__navigation-container nhsuk-width-container">
<ul class="nhsuk-header__navigation-list">
{{nav}}
</ul>
</div>
</nav>
</header>
<div class="nhsuk-width-container">
{{breadcrumbs}}
<main class="nhsuk-main-wrapper" id="maincontent">
{{content}}
</main>
</div>
<footer class="nhsuk-footer" role="contentinfo">
<div class="nhsuk-width-container">
<div class="nhsuk-footer__meta">
<h2 class="nhsuk-u-visually-hidden">Support links</h2>
<p class="nhsuk-body-s">NHS Dorset: consultations and what we did with what you told us. This site holds no data of its own.</p>
<p class="nhsuk-footer__copyright">&copy; NHS Dorset</p>
</div>
</div>
</footer>
</body>
</html>
)html";

constexpr char kNavItem[] =
    R"html(<li class="nhsuk-header__navigation-item"><a class="nhsuk-header__navigation-link" href="{{href}}">{{text}}</a></li>)html";
constexpr char kNavItemCurrent[] =
    R"html(<li class="nhsuk-header__navigation-item nhsuk-header__navigation-item--current"><a class="nhsuk-header__navigation-link" href="{{href}}" aria-current="page"><strong class="nhsuk-header__navigation-item-current-fallback">{{text}}</strong></a></li>)html";

}  // namespace

SafeHtml Page(const PageFrame& frame, const SafeHtml& content) {
  SafeHtml nav;
  struct NavItem {
    const char* key;
    const char* href;
    const char* text;
  };
  const NavItem items[] = {{"consultations", "/consultations", "Consultations"},
                           {"staff", "/staff", "Staff"}};
  for (const NavItem& item : items) {
    nav += Render(frame.active_nav == item.key ? kNavItemCurrent : kNavItem,
                  {{"href", std::string(item.href)}, {"text", std::string(item.text)}});
  }
  SafeHtml crumbs;
  if (!frame.breadcrumbs.empty()) {
    SafeHtml list;
    for (const Breadcrumb& b : frame.breadcrumbs) {
      list += Render(
          R"html(<li class="nhsuk-breadcrumb__list-item"><a class="nhsuk-breadcrumb__link" href="{{href}}">{{text}}</a></li>)html",
          {{"href", b.href}, {"text", b.text}});
    }
    const Breadcrumb& back = frame.breadcrumbs.back();
    crumbs = Render(R"html(<nav class="nhsuk-breadcrumb" aria-label="Breadcrumb">
<ol class="nhsuk-breadcrumb__list">{{list}}</ol>
<a class="nhsuk-back-link" href="{{back_href}}"><span class="nhsuk-u-visually-hidden">Back to </span>{{back_text}}</a>
</nav>)html",
                    {{"list", list}, {"back_href", back.href}, {"back_text", back.text}});
  }
  return Render(kDocument, {{"title", (frame.error ? "Error: " : "") + frame.title},
                            {"nav", nav},
                            {"breadcrumbs", crumbs},
                            {"content", content}});
}

SafeHtml Tag(const std::string& text, const std::string& colour) {
  return Render(R"html(<strong class="nhsuk-tag nhsuk-tag--{{colour}}">{{text}}</strong>)html",
                {{"colour", colour}, {"text", text}});
}

SafeHtml ErrorSummary(const std::vector<std::pair<std::string, std::string>>& errors) {
  SafeHtml items;
  for (const auto& [message, href] : errors) {
    items += Render(R"html(<li><a href="{{href}}">{{message}}</a></li>)html",
                    {{"href", href}, {"message", message}});
  }
  return Render(R"html(<div class="nhsuk-error-summary" data-module="nhsuk-error-summary">
<div role="alert">
<h2 class="nhsuk-error-summary__title">There is a problem</h2>
<div class="nhsuk-error-summary__body"><ul class="nhsuk-list nhsuk-error-summary__list">{{items}}</ul></div>
</div>
</div>)html",
                {{"items", items}});
}

SafeHtml MessagePage(const std::string& title, const std::string& message) {
  return Page({title}, Render(R"html(<h1>{{title}}</h1><p>{{message}}</p>)html",
                              {{"title", title}, {"message", message}}));
}

}  // namespace dorset::console
