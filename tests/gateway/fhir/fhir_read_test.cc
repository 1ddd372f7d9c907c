// FHIR reads of real practices from the shipped ODS data: golden mappings of an active, a
// closed, a closed-with-successor and a dormant practice, UK Core rules on each, a prescribing
// cost centre typed by its setting, and partOf up the tree to the ICB.
#include <string>
#include <vector>

#include "tests/gateway/fhir/fhir_process_fixture.h"

namespace dorset::gateway::fhir {
namespace {

TEST_F(FhirProcessTest, ActiveGpPracticeMatchesGoldenAndUkCore) {
  Answer a = Get("/fhir/R4/Organization/J81002");
  ASSERT_EQ(a.status, 200) << a.body;
  ExpectUkCorePractice(a.json, "J81002", 4);
  EXPECT_TRUE(a.json.fields().at("active").bool_value());
  ExpectGolden("J81002", a.body);
}

TEST_F(FhirProcessTest, PracticeClosedByOdsMatchesGolden) {
  Answer a = Get("/fhir/R4/Organization/J81003");
  ASSERT_EQ(a.status, 200) << a.body;
  ExpectUkCorePractice(a.json, "J81003", 4);
  EXPECT_FALSE(a.json.fields().at("active").bool_value());
  ExpectGolden("J81003", a.body);
}

TEST_F(FhirProcessTest, ClosedPracticeWithSuccessorMatchesGolden) {
  Answer a = Get("/fhir/R4/Organization/J81012");
  ASSERT_EQ(a.status, 200) << a.body;
  ExpectUkCorePractice(a.json, "J81012", 4);
  EXPECT_FALSE(a.json.fields().at("active").bool_value());
  ExpectGolden("J81012", a.body);
}

TEST_F(FhirProcessTest, DormantPracticeMatchesGolden) {
  Answer a = Get("/fhir/R4/Organization/J81613");
  ASSERT_EQ(a.status, 200) << a.body;
  ExpectUkCorePractice(a.json, "J81613", 4);
  EXPECT_FALSE(a.json.fields().at("active").bool_value());
  ExpectGolden("J81613", a.body);
}

TEST_F(FhirProcessTest, OtherPrescribingCostCentreIsTypedBySetting) {
  // A99966 (DORSET BCSC) is an active prescribing cost centre of setting 0, not a GP practice.
  Answer a = Get("/fhir/R4/Organization/A99966");
  ASSERT_EQ(a.status, 200) << a.body;
  ExpectUkCorePractice(a.json, "A99966", 0);
  EXPECT_EQ(a.body.find("RO76"), std::string::npos);
}

TEST_F(FhirProcessTest, PartOfWalksUpToTheIcb) {
  std::vector<std::string> chain;
  std::string id = "J81002";
  for (int i = 0; i < 6; ++i) {
    Answer a = Get("/fhir/R4/Organization/" + id);
    ASSERT_EQ(a.status, 200) << id << ": " << a.body;
    if (id != "J81002") ExpectGolden(id, a.body);
    const std::string next = Str(Obj(a.json, "partOf"), "reference");
    if (next.empty()) break;
    ASSERT_EQ(next.rfind("Organization/", 0), 0u) << next;
    id = next.substr(13);
    chain.push_back(id);
  }
  EXPECT_EQ(chain,
            (std::vector<std::string>{"locality-east-dorset", "cluster-dorset", "11J", "QVV"}));
}

}  // namespace
}  // namespace dorset::gateway::fhir
