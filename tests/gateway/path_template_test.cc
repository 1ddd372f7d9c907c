// Table-driven tests of google.api.http path template parsing and matching.
#include "gateway/path_template.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace dorset::gateway {
namespace {

// "field=value;field=value" for a match, "-" for no match.
std::string Describe(const std::optional<std::vector<Binding>>& bindings) {
  if (!bindings) return "-";
  std::vector<std::string> parts;
  for (const Binding& b : *bindings)
    parts.push_back(absl::StrJoin(b.field_path, ".") + "=" + b.value);
  return absl::StrJoin(parts, ";");
}

struct MatchCase {
  std::string templ;
  std::string path;
  std::string want;
};

TEST(PathTemplateTest, MatchesPerTheSpec) {
  const std::vector<MatchCase> cases = {
      {"/v1/practices", "/v1/practices", ""},
      {"/v1/practices", "/v1/practices/", "-"},
      {"/v1/practices", "/v1/practice", "-"},
      {"/v1/{name=practices/*}", "/v1/practices/J81001", "name=practices/J81001"},
      {"/v1/{name=practices/*}", "/v1/practices/J81001/x", "-"},
      {"/v1/{name=practices/*}", "/v1/practices/", "-"},
      {"/v1/{name=practices/*}", "/v1/localities/x", "-"},
      {"/v1/{name}", "/v1/abc", "name=abc"},
      {"/v1/{name}", "/v1/a%20b", "name=a b"},
      {"/v1/{name}", "/v1/a%2Fb", "name=a/b"},
      {"/v1/{name}", "/v1/a%2", "-"},
      {"/v1/{name}", "/v1/a%zz", "-"},
      {"/v1/{name=shelves/*/things/*}", "/v1/shelves/s1/things/t%2F1",
       "name=shelves/s1/things/t%2F1"},
      {"/v1/{thing.name=shelves/*/things/*}", "/v1/shelves/a/things/b",
       "thing.name=shelves/a/things/b"},
      {"/v1/{parent=shelves/*}/things", "/v1/shelves/a/things", "parent=shelves/a"},
      {"/v1/{name=practices/*}:close", "/v1/practices/J1:close", "name=practices/J1"},
      {"/v1/{name=practices/*}:close", "/v1/practices/J1", "-"},
      {"/v1/{name=practices/*}:close", "/v1/practices/J1:open", "-"},
      {"/v1/{name=practices/*}", "/v1/practices/J1:close", "name=practices/J1:close"},
      {"/v1/files/{path=**}", "/v1/files/a/b/c.txt", "path=a/b/c.txt"},
      {"/v1/files/{path=**}", "/v1/files/a", "path=a"},
      {"/v1/files/{path=**}", "/v1/files", "path="},
      {"/v1/files/{path=**}", "/v1/files/a//b", "-"},
      {"/v1/*/x", "/v1/anything/x", ""},
      {"/v1/**", "/v1/a/b", ""},
      {"/v1/{a}/{b}", "/v1/1/2", "a=1;b=2"},
      {"/v1/{name=practices/*}", "", "-"},
      {"/v1/{name=practices/*}", "v1/practices/a", "-"},
  };
  for (const MatchCase& c : cases) {
    absl::StatusOr<PathTemplate> parsed = PathTemplate::Parse(c.templ);
    ASSERT_TRUE(parsed.ok()) << c.templ << ": " << parsed.status();
    EXPECT_EQ(Describe(parsed->Match(c.path)), c.want) << c.templ << " vs " << c.path;
  }
}

TEST(PathTemplateTest, RefusesMalformedTemplates) {
  for (const char* bad : {"", "v1/x", "/v1/{name", "/v1/{}", "/v1/{1x}", "/v1/{a={b}}", "/v1/**/x",
                          "/v1/x:", "/v1//x", "/v1/{a}/{a}", "/v1/{a.}", "/v1/x}"}) {
    EXPECT_FALSE(PathTemplate::Parse(bad).ok()) << bad;
  }
}

// Literal segments stay, each "*" is a parameter named after its collection, so that templates
// of different collections never share an OpenAPI path (they did as "/v1/{name}").
TEST(PathTemplateTest, OpenApiPathKeepsLiteralsAndNamesEachSegment) {
  struct Case {
    const char* templ;
    const char* want;
    std::vector<std::string> names;
  };
  const Case cases[] = {
      {"/v1/{name=practices/*}", "/v1/practices/{practice}", {"practice"}},
      {"/v1/{name=practices/*}:close", "/v1/practices/{practice}:close", {"practice"}},
      {"/v1/{name=localities/*}", "/v1/localities/{locality}", {"locality"}},
      {"/v1/{parent=shelves/*}/things", "/v1/shelves/{shelf}/things", {"shelf"}},
      {"/v1/{thing.name=shelves/*/things/*}",
       "/v1/shelves/{shelf}/things/{thing}",
       {"shelf", "thing"}},
      {"/v1/{name=governingBodies/*}/areaSummary",
       "/v1/governingBodies/{governingBody}/areaSummary",
       {"governingBody"}},
      {"/v1/{name=plans/*/report}", "/v1/plans/{plan}/report", {"plan"}},
      {"/v1/{name=financialYears/*/periods/*}:close",
       "/v1/financialYears/{financialYear}/periods/{period}:close",
       {"financialYear", "period"}},
      {"/v1/files/{path=**}", "/v1/files/{path}", {"path"}},
      {"/v1/echo/{text}", "/v1/echo/{text}", {"text"}},
      {"/v1/{name=a/*/a/*}", "/v1/a/{aId}/a/{aId2}", {"aId", "aId2"}},
      {"/v1/{name=*/things/*}", "/v1/{name1}/things/{thing}", {"name1", "thing"}},
      {"/v1/*/x", "/v1/{segment1}/x", {"segment1"}},
      {"/v1/practices", "/v1/practices", {}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<PathTemplate> parsed = PathTemplate::Parse(c.templ);
    ASSERT_TRUE(parsed.ok()) << c.templ;
    std::vector<PathTemplate::OpenApiParameter> parameters;
    EXPECT_EQ(parsed->OpenApiPath(&parameters), c.want) << c.templ;
    std::vector<std::string> names;
    for (const auto& p : parameters) names.push_back(p.name);
    EXPECT_EQ(names, c.names) << c.templ;
  }
  std::vector<PathTemplate::OpenApiParameter> parameters;
  PathTemplate::Parse("/v1/{name=shelves/*}/{path=**}")->OpenApiPath(&parameters);
  ASSERT_EQ(parameters.size(), 2u);
  EXPECT_EQ(parameters[0].variable, 0u);
  EXPECT_FALSE(parameters[0].multi);
  EXPECT_EQ(parameters[1].variable, 1u);
  EXPECT_EQ(parameters[1].segment, 3u);
  EXPECT_TRUE(parameters[1].multi);
}

TEST(PathTemplateTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("Bournemouth \xC2\xA3 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

}  // namespace
}  // namespace dorset::gateway
