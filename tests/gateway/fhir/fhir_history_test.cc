// FHIR _history of an organisation: the registry's revisions, newest first, paged by next links.
#include <string>
#include <vector>

#include "tests/gateway/fhir/fhir_process_fixture.h"

namespace dorset::gateway::fhir {
namespace {

TEST_F(FhirProcessTest, HistoryListsTheRevisionsNewestFirst) {
  Answer a = Get("/fhir/R4/Organization/J81012/_history");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(Str(a.json, "type"), "history");
  const auto& entries = List(a.json, "entry");
  // Created by the epraccur import, given its list size, closed with a successor.
  ASSERT_EQ(entries.values_size(), 3) << a.body;
  std::vector<std::string> versions;
  for (const Value& entry : entries.values()) {
    versions.push_back(Str(Obj(Obj(entry.struct_value(), "resource"), "meta"), "versionId"));
  }
  EXPECT_EQ(versions, (std::vector<std::string>{"3", "2", "1"}));
  EXPECT_EQ(Str(Obj(entries.values(2).struct_value(), "request"), "method"), "POST");
  ExpectGolden("J81012_history", a.body);
  // Pages of one follow the next links to the same three versions.
  std::string next = "/fhir/R4/Organization/J81012/_history?_count=1";
  int pages = 0;
  while (!next.empty() && pages < 10) {
    Answer page = Get(next);
    ASSERT_EQ(page.status, 200) << page.body;
    ++pages;
    next.clear();
    for (const Value& link : List(page.json, "link").values()) {
      if (Str(link.struct_value(), "relation") == "next") {
        next = Str(link.struct_value(), "url").substr(Base().size());
      }
    }
  }
  EXPECT_EQ(pages, 3);
}

}  // namespace
}  // namespace dorset::gateway::fhir
