// The one HTML escaper (runtime/text/html_escape.h), used by the web console and by
// engagement's consultation report.
#include "runtime/text/html_escape.h"

#include <string>

#include "gtest/gtest.h"

namespace dorset::runtime {
namespace {

TEST(EscapeHtmlTest, EscapesTheFiveCharactersThatEndTextOrAnAttribute) {
  EXPECT_EQ(EscapeHtml("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  EXPECT_EQ(EscapeHtml("a\" onmouseover=\"x"), "a&quot; onmouseover=&quot;x");
  EXPECT_EQ(EscapeHtml("Weymouth & Portland"), "Weymouth &amp; Portland");
}

TEST(EscapeHtmlTest, EscapesAnAmpersandOnceSoEscapedTextShowsAsWritten) {
  // Text that already looks like an entity is data: it must show as typed, not as the character.
  EXPECT_EQ(EscapeHtml("&amp; &lt;"), "&amp;amp; &amp;lt;");
}

TEST(EscapeHtmlTest, LeavesEverythingElseAsItIs) {
  EXPECT_EQ(EscapeHtml(""), "");
  EXPECT_EQ(EscapeHtml("Bridport Medical Centre, DT6 4PB"), "Bridport Medical Centre, DT6 4PB");
  const std::string utf8 =
      "Caf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x8F\xA5";  // é, an em dash, a hospital
  EXPECT_EQ(EscapeHtml(utf8), utf8);
  const std::string with_nul("a\0b", 3);
  EXPECT_EQ(EscapeHtml(with_nul), with_nul);
  EXPECT_EQ(EscapeHtml("/=`\n\t"), "/=`\n\t");
}

}  // namespace
}  // namespace dorset::runtime
