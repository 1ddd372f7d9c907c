// FHIR refusals: bad input as OperationOutcomes (unknown parameters refused unless lenient,
// malformed values, unknown ids, read-only), and the registry's own tokens and roles.
#include <string>
#include <vector>

#include "tests/gateway/fhir/fhir_process_fixture.h"

namespace dorset::gateway::fhir {
namespace {

TEST_F(FhirProcessTest, BadInputIsAnOperationOutcome) {
  struct Case {
    std::string path;
    int status;
    std::string issue;
    httplib::Headers headers;
  };
  const std::vector<Case> cases = {
      {"/fhir/R4/Organization?foo=bar", 400, "not-supported", {}},
      {"/fhir/R4/Organization?name:exact=x", 400, "not-supported", {}},
      {"/fhir/R4/Organization?_count=abc", 400, "invalid", {}},
      {"/fhir/R4/Organization?_count=-5", 400, "invalid", {}},
      {"/fhir/R4/Organization?_count=99999999999999", 400, "invalid", {}},
      {"/fhir/R4/Organization?_lastUpdated=gt2025-02-30", 400, "invalid", {}},
      {"/fhir/R4/Organization?_lastUpdated=gtyesterday", 400, "invalid", {}},
      {"/fhir/R4/Organization?_lastUpdated=sa2025", 400, "not-supported", {}},
      {"/fhir/R4/Organization?active=maybe", 400, "invalid", {}},
      {"/fhir/R4/Organization?address-postalcode=%21%21", 400, "invalid", {}},
      {"/fhir/R4/Organization?_sort=list_size", 400, "not-supported", {}},
      {"/fhir/R4/Organization?_page_token=forged", 400, "invalid", {}},
      {"/fhir/R4/Organization?name=%FF", 400, "invalid", {}},
      {"/fhir/R4/Organization/Z99999", 404, "not-found", {}},
      {"/fhir/R4/Organization/locality-nowhere", 404, "not-found", {}},
      {"/fhir/R4/Organization/not%20an%20id", 404, "not-found", {}},
      {"/fhir/R4/Organization/ZZZ", 404, "not-found", {}},
      {"/fhir/R4/Organization/J81002?foo=1", 400, "not-supported", {}},
      {"/fhir/R4/Organization/locality-purbeck/_history", 400, "not-supported", {}},
      {"/fhir/R4/Organization/J81002/_history?_count=0", 400, "invalid", {}},
      {"/fhir/R4/Patient/1", 404, "not-found", {}},
      {"/fhir/R4/Organization", 400, "invalid", {{"grpc-timeout", "soon"}}},
  };
  for (const Case& c : cases) {
    Answer a = Get(c.path, kToken, c.headers);
    EXPECT_EQ(a.status, c.status) << c.path << ": " << a.body;
    EXPECT_EQ(Str(a.json, "resourceType"), "OperationOutcome") << c.path;
    EXPECT_EQ(Str(List(a.json, "issue").values(0).struct_value(), "code"), c.issue) << c.path;
  }
  // Lenient handling drops what is not supported (and says so in the self link).
  Answer lenient =
      Get("/fhir/R4/Organization?foo=bar&_summary=count", kToken, {{"Prefer", "handling=lenient"}});
  EXPECT_EQ(lenient.status, 200) << lenient.body;
  EXPECT_EQ(lenient.json.fields().at("total").number_value(), 139);
  EXPECT_EQ(lenient.body.find("foo"), std::string::npos);
  // Read-only.
  httplib::Client client("127.0.0.1", gateway_port_);
  auto post =
      client.Post("/fhir/R4/Organization", {{"Authorization", "Bearer " + std::string(kToken)}},
                  "{}", "application/fhir+json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(validator_->Ask(post->body), "ok");
}

TEST_F(FhirProcessTest, TokensAndRolesAreTheRegistrys) {
  Answer anonymous = Get("/fhir/R4/Organization/J81002", "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(Str(List(anonymous.json, "issue").values(0).struct_value(), "code"), "login");
  EXPECT_EQ(Get("/fhir/R4/Organization?_summary=count", "").status, 401);
  EXPECT_EQ(Get("/fhir/R4/Organization?type=RO98", "").status,
            401);  // matches nothing: still checked
  EXPECT_EQ(Get("/fhir/R4/Organization/J81002", "wrong-token").status, 401);
  EXPECT_EQ(Get("/fhir/R4/Organization/J81002", kReaderToken).status, 200);
  EXPECT_EQ(Get("/fhir/R4/Organization/J81002/_history", kReaderToken).status, 200);
}

}  // namespace
}  // namespace dorset::gateway::fhir
