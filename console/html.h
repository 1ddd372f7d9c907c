// HTML output for the console: every value is escaped unless it is already SafeHtml, which only
// this file's functions (and Render over a template written in the source) make. A page is a
// template with {{name}} placeholders filled from a list of values; a std::string value is
// escaped, a SafeHtml value is put in as it is. So text from the services (a response's words,
// a consultation's title) can only ever appear as text.
#ifndef DORSET_CONSOLE_HTML_H_
#define DORSET_CONSOLE_HTML_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace dorset::console {

// Markup that is safe to send: built from the source's templates and escaped values.
class SafeHtml {
 public:
  SafeHtml() = default;
  const std::string& str() const { return html_; }
  SafeHtml& operator+=(const SafeHtml& more) {
    html_ += more.html_;
    return *this;
  }
  bool empty() const { return html_.empty(); }

 private:
  friend SafeHtml Trusted(std::string_view);
  explicit SafeHtml(std::string html) : html_(std::move(html)) {}
  std::string html_;
};

// Markup written in the console's own source (a template, a tag). Never pass data to it.
SafeHtml Trusted(std::string_view html);

// Text made safe for element content and quoted attribute values: & < > " ' escaped
// (runtime/text/html_escape.h, the one escaper).
SafeHtml Text(std::string_view text);

using HtmlValue = std::variant<std::string, SafeHtml>;
using HtmlValues = std::vector<std::pair<std::string_view, HtmlValue>>;

// Fills the {{name}} placeholders of `source_template` (a template from the source) with
// `values`: strings escaped, SafeHtml as it is. A placeholder without a value is left empty.
SafeHtml Render(std::string_view source_template, const HtmlValues& values);

// Joins pieces of markup.
SafeHtml Join(const std::vector<SafeHtml>& parts);

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_HTML_H_
