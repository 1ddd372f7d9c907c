// The FHIR CapabilityStatement: what it lists is what is served, and nothing else.
#include <map>
#include <string>
#include <vector>

#include "tests/gateway/fhir/fhir_process_fixture.h"

namespace dorset::gateway::fhir {
namespace {

TEST_F(FhirProcessTest, CapabilityStatementListsWhatIsServed) {
  Answer a = Get("/fhir/R4/metadata", "");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(Str(a.json, "fhirVersion"), "4.0.1");
  const Struct& resource =
      List(List(a.json, "rest").values(0).struct_value(), "resource").values(0).struct_value();
  EXPECT_EQ(Str(resource, "type"), "Organization");
  std::vector<std::string> interactions;
  for (const Value& i : List(resource, "interaction").values()) {
    interactions.push_back(Str(i.struct_value(), "code"));
  }
  EXPECT_EQ(interactions, (std::vector<std::string>{"read", "search-type", "history-instance"}));
  // Every listed parameter is accepted, and nothing else is.
  const std::map<std::string, std::string> samples = {
      {"name", "orchid"}, {"address-postalcode", "BH22"}, {"active", "true"},
      {"type", "RO76"},   {"partof", "locality-purbeck"}, {"_lastUpdated", "gt2020-01-01"}};
  std::vector<std::string> listed;
  for (const Value& p : List(resource, "searchParam").values()) {
    const std::string name = Str(p.struct_value(), "name");
    listed.push_back(name);
    ASSERT_TRUE(samples.count(name)) << name;
    EXPECT_EQ(Get("/fhir/R4/Organization?" + name + "=" + samples.at(name)).status, 200) << name;
  }
  EXPECT_EQ(listed.size(), samples.size());
}

}  // namespace
}  // namespace dorset::gateway::fhir
