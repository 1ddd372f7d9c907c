// The one HTML escaper for every page we write (the web console's templates, engagement's
// consultation report): text made safe for element content and for attribute values in double
// or single quotes, by escaping & < > " and ' (OWASP's rule for HTML contexts). Not for
// unquoted attributes, URLs, scripts or styles: the callers put data only in those two places.
#ifndef DORSET_RUNTIME_TEXT_HTML_ESCAPE_H_
#define DORSET_RUNTIME_TEXT_HTML_ESCAPE_H_

#include <string>
#include <string_view>

namespace dorset::runtime {

// & -> &amp;  < -> &lt;  > -> &gt;  " -> &quot;  ' -> &#39;; every other byte as it is (UTF-8
// passes through unchanged).
std::string EscapeHtml(std::string_view text);

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_TEXT_HTML_ESCAPE_H_
