// The console's page frame in the NHS.UK design system: skip link, header (with the service
// name and navigation), breadcrumbs, main, footer; nhsuk-frontend's CSS and JavaScript from
// /assets (served by the console itself, no CDN). Every page file renders its content and hands
// it to Page(); the JavaScript only enhances (the pages work without it).
#ifndef DORSET_CONSOLE_LAYOUT_H_
#define DORSET_CONSOLE_LAYOUT_H_

#include <string>
#include <utility>
#include <vector>

#include "console/html.h"

namespace dorset::console {

struct Breadcrumb {
  std::string text;
  std::string href;
};

struct PageFrame {
  PageFrame(std::string title, std::string active_nav = "",
            std::vector<Breadcrumb> breadcrumbs = {}, bool error = false)
      : title(std::move(title)),
        active_nav(std::move(active_nav)),
        breadcrumbs(std::move(breadcrumbs)),
        error(error) {}
  std::string title;                    // the <title> (the page writes its own <h1>)
  std::string active_nav;               // "consultations", ... (marks the header link)
  std::vector<Breadcrumb> breadcrumbs;  // from the home page down to the parent of this one
  bool error = false;                   // "Error: " before the title (a form with errors)
};

// The whole document around `content` (the inside of <main>).
SafeHtml Page(const PageFrame& frame, const SafeHtml& content);

// NHS.UK components used by several pages.
// A tag ("Open", "Closed", ...) in one of the design system's colours ("green", "grey", ...).
SafeHtml Tag(const std::string& text, const std::string& colour);
// An error summary at the top of a form: (message, href of the field).
SafeHtml ErrorSummary(const std::vector<std::pair<std::string, std::string>>& errors);

// A page for a failure: the heading and one paragraph.
SafeHtml MessagePage(const std::string& title, const std::string& message);

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_LAYOUT_H_
