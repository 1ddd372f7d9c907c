// FHIR search: searchset pages adding up to the total (_count, _sort, next links,
// _summary=count) and every search parameter's filter.
#include <algorithm>
#include <string>
#include <vector>

#include "tests/gateway/fhir/fhir_process_fixture.h"

namespace dorset::gateway::fhir {
namespace {

TEST_F(FhirProcessTest, SearchPagesAddUpToTheTotal) {
  // 11J in the 2025 extract: 139 organisations, 82 active, 68 of them GP practices; less
  // J81012, closed by this test's set-up.
  Answer count = Get("/fhir/R4/Organization?_summary=count");
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_EQ(count.json.fields().at("total").number_value(), 139);
  EXPECT_EQ(List(count.json, "entry").values_size(), 0);
  EXPECT_EQ(Get("/fhir/R4/Organization?active=true&_summary=count")
                .json.fields()
                .at("total")
                .number_value(),
            81);
  EXPECT_EQ(Get("/fhir/R4/Organization?active=true&type=RO76&_count=0")
                .json.fields()
                .at("total")
                .number_value(),
            67);

  std::string next = "/fhir/R4/Organization?active=true&type=RO76&_count=30&_sort=name";
  std::vector<std::string> names;
  int pages = 0;
  while (!next.empty() && pages < 10) {
    Answer page = Get(next);
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.json.fields().at("total").number_value(), 67);
    ++pages;
    for (const Value& entry : List(page.json, "entry").values()) {
      const Struct& org = Obj(entry.struct_value(), "resource");
      ExpectUkCorePractice(org, Str(org, "id"), 4);
      EXPECT_EQ(Str(entry.struct_value(), "fullUrl"),
                absl::StrCat(Base(), "/fhir/R4/Organization/", Str(org, "id")));
      names.push_back(Str(org, "name"));
    }
    next.clear();
    for (const Value& link : List(page.json, "link").values()) {
      if (Str(link.struct_value(), "relation") == "next") {
        next = Str(link.struct_value(), "url").substr(Base().size());
      }
    }
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names.size(), 67u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST_F(FhirProcessTest, SearchFilters) {
  auto total = [&](const std::string& query) {
    Answer a = Get("/fhir/R4/Organization?" + query);
    EXPECT_EQ(a.status, 200) << query << ": " << a.body;
    return static_cast<int>(
        a.json.fields().count("total") ? a.json.fields().at("total").number_value() : -1);
  };
  Answer orchid = Get("/fhir/R4/Organization?name=orchid");
  ASSERT_EQ(List(orchid.json, "entry").values_size(), 1) << orchid.body;
  EXPECT_EQ(Str(Obj(List(orchid.json, "entry").values(0).struct_value(), "resource"), "id"),
            "J81002");
  EXPECT_EQ(total("name=house"), 0);  // name matches the start of the name
  EXPECT_GT(total("name:contains=house"), 0);
  EXPECT_EQ(total("address-postalcode=BH22%209HB"), total("address-postalcode=bh229hb"));
  EXPECT_GT(total("address-postalcode=BH22"), 0);
  EXPECT_EQ(total("partof=Organization/locality-east-dorset&_summary=count"),
            total("partof=locality-east-dorset&_summary=count"));
  EXPECT_GT(total("partof=locality-east-dorset&_summary=count"), 0);
  EXPECT_EQ(total("type=27&_summary=count"), 4);
  EXPECT_EQ(total("type=https://fhir.dorset.nhs.uk/CodeSystem/ods-prescribing-setting%7C27"), 4);
  EXPECT_EQ(total("type=RO177&_summary=count"), 139);
  EXPECT_EQ(total("type=RO98&_summary=count"), 0);
  EXPECT_EQ(total("_lastUpdated=gt2020-01-01&_summary=count"), 139);
  EXPECT_EQ(total("_lastUpdated=lt2020-01-01&_summary=count"), 0);
  // Newest change first: J81012's closure, after every import, and the only change since.
  Answer newest = Get("/fhir/R4/Organization?_sort=-_lastUpdated&_count=1");
  const Struct& closed = Obj(List(newest.json, "entry").values(0).struct_value(), "resource");
  EXPECT_EQ(Str(closed, "id"), "J81012");
  const std::string closed_at = Str(Obj(closed, "meta"), "lastUpdated");
  EXPECT_EQ(total("_lastUpdated=ge" + closed_at + "&_summary=count"), 1);
  EXPECT_EQ(total("_lastUpdated=gt" + closed_at + "&_summary=count"), 0);
  EXPECT_EQ(total("_lastUpdated=ge2020-01-01&_lastUpdated=lt" + closed_at + "&_summary=count"),
            138);
}

}  // namespace
}  // namespace dorset::gateway::fhir
