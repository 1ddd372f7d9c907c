// The FHIR R4 face over real processes: redis-server, dorset-registry (bearer tokens, the
// shipped Dorset data imported with dorsetctl) and dorset-gateway, called over HTTP. Golden
// files hold the mapping of real practices (tests/gateway/fhir/golden); the UK Core rules are
// checked on each directly; every FHIR response is validated against HL7's FHIR R4 JSON schema
// by tests/gateway/fhir/validate_fhir.js (node, from the project's package-lock.json).
//
// DORSET_UPDATE_GOLDEN=1 rewrites the golden files from what the gateway answers (then read
// the diff before committing it).
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gateway/fhir/organization_map.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/server_process.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "tests/gateway/fhir/fhir_test_support.h"

namespace dorset::gateway::fhir {
namespace {

constexpr char kToken[] = "fhir-test-admin-token";
constexpr char kReaderToken[] = "fhir-test-reader-token";

struct Answer {
  int status = 0;
  std::string content_type;
  std::string body;
  Struct json;
};

class FhirProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new dorset::testing::TempDir();
    auto redis = dorset::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = redis->release();
    dorset::testing::WriteTokensFile(
        dir_->path() + "/tokens",
        {{kToken, "fhir-admin", "admin"}, {kReaderToken, "fhir-reader", "reader"}});
    registry_port_ = dorset::testing::FreePort();
    registry_ = new dorset::testing::ServerProcess(
        DORSET_REGISTRY_BINARY, dir_->path(), registry_port_, "",
        {"--auth=tokens", "--tokens_file=" + dir_->path() + "/tokens",
         "--redis=" + redis_->address()});
    auto stub =
        registry::v1::RegistryService::NewStub(dorset::testing::LocalChannel(registry_port_));
    ASSERT_TRUE(registry_->WaitReady([&] {
      grpc::ClientContext context;
      dorset::testing::AddBearer(context, kToken);
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      registry::v1::ListClustersResponse clusters;
      return stub->ListClusters(&context, {}, &clusters).ok();
    }));
    // The shipped data, loaded as scripts/run loads it.
    const std::string ctl =
        absl::StrCat("DORSETCTL_TOKEN=", kToken, " DORSETCTL_REGISTRY=127.0.0.1:", registry_port_,
                     " ", DORSET_CTL_BINARY, " registry ");
    const std::string src = DORSET_SOURCE_DIR;
    const std::string log = " >>" + dir_->path() + "/import.log 2>&1";
    ASSERT_EQ(std::system((ctl + "import-localities " + src + "/data/dorset/localities.csv " + src +
                           "/data/dorset/practice-localities.csv" + log)
                              .c_str()),
              0);
    ASSERT_EQ(std::system((ctl + "import-epraccur " + src +
                           "/data/ods/epraccur-2025-05.csv --commissioner=11J" + log)
                              .c_str()),
              0);
    ASSERT_EQ(std::system((ctl + "import-list-sizes " + src +
                           "/data/ods/gp-reg-pat-prac-all-2021-01.csv --commissioner=11J" + log)
                              .c_str()),
              0);
    // A closed practice with a successor: J81012 closes into J81086 (docs/registry.md).
    {
      grpc::ClientContext context;
      dorset::testing::AddBearer(context, kToken);
      registry::v1::ClosePracticeRequest close;
      close.set_name("practices/J81012");
      close.set_successor("practices/J81086");
      close.set_close_date("2025-06-30");
      registry::v1::Practice closed;
      grpc::Status status = stub->ClosePractice(&context, close, &closed);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
    gateway_port_ = dorset::testing::FreePort();
    gateway_ = new Child(
        {DORSET_GATEWAY_BINARY, absl::StrCat("--http_listen=127.0.0.1:", gateway_port_),
         absl::StrCat("--registry_target=127.0.0.1:", registry_port_), "--plaintext=true"},
        dir_->path() + "/gateway.log");
    httplib::Client probe("127.0.0.1", gateway_port_);
    bool up = false;
    for (int i = 0; i < 600 && !up; ++i) {
      auto res = probe.Get("/livez");
      up = res && res->status == 200;
      if (!up) absl::SleepFor(absl::Milliseconds(100));
    }
    ASSERT_TRUE(up) << ReadFile(dir_->path() + "/gateway.log");
    validator_ =
        new Child({"node", std::string(DORSET_SOURCE_DIR) + "/tests/gateway/fhir/validate_fhir.js"},
                  dir_->path() + "/validator.log");
    ASSERT_EQ(validator_->Ask(""), "ready")
        << "the FHIR schema validator did not start (npm ci at the project root installs it: "
           "scripts/lib/install-deps.sh): "
        << ReadFile(dir_->path() + "/validator.log");
  }

  static void TearDownTestSuite() {
    delete validator_;
    delete gateway_;
    delete registry_;
    delete redis_;
    delete dir_;
  }

  static std::string Base() { return absl::StrCat("http://127.0.0.1:", gateway_port_); }

  // GET <path> with headers; the body must be FHIR JSON that the R4 schema accepts.
  Answer Get(const std::string& path, const std::string& token = kToken,
             httplib::Headers headers = {}) {
    httplib::Client client("127.0.0.1", gateway_port_);
    client.set_read_timeout(60, 0);
    if (!token.empty()) headers.emplace("Authorization", absl::StrCat("Bearer ", token));
    auto res = client.Get(path.c_str(), headers);
    Answer answer;
    if (!res) {
      ADD_FAILURE() << "no answer for " << path;
      return answer;
    }
    answer.status = res->status;
    answer.content_type = res->get_header_value("Content-Type");
    answer.body = res->body;
    answer.json = Parse(res->body);
    EXPECT_EQ(answer.content_type, "application/fhir+json") << path;
    EXPECT_EQ(validator_->Ask(res->body), "ok") << path << ": " << res->body;
    return answer;
  }

  // The golden form: the gateway's address and the import's times replaced by placeholders.
  static std::string Normalise(const std::string& body) {
    std::string text = absl::StrReplaceAll(body, {{Base(), "{base}"}});
    static const std::regex instant(
        R"re("(lastUpdated|lastModified)":"20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z")re");
    return std::regex_replace(text, instant, "\"$1\":\"{instant}\"");
  }

  void ExpectGolden(const std::string& name, const std::string& body) {
    const std::string path =
        absl::StrCat(DORSET_SOURCE_DIR, "/tests/gateway/fhir/golden/", name, ".json");
    const std::string actual = Normalise(body);
    if (std::getenv("DORSET_UPDATE_GOLDEN") != nullptr) {
      std::ofstream(path) << actual << "\n";
      return;
    }
    Struct want, got;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(ReadFile(path), &want).ok()) << path;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(actual, &got).ok());
    google::protobuf::util::MessageDifferencer differ;
    std::string diff;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(want, got)) << name << ":\n" << diff << "\ngot: " << actual;
  }

  // UK Core Organization rules, checked on the resource itself.
  static void ExpectUkCorePractice(const Struct& org, const std::string& code, int setting) {
    EXPECT_EQ(Str(org, "resourceType"), "Organization");
    EXPECT_EQ(Str(org, "id"), code);
    const auto& profiles = List(Obj(org, "meta"), "profile");
    ASSERT_EQ(profiles.values_size(), 1);
    EXPECT_EQ(profiles.values(0).string_value(), kUkCoreOrganizationProfile);
    EXPECT_FALSE(Str(Obj(org, "meta"), "versionId").empty());
    EXPECT_FALSE(Str(Obj(org, "meta"), "lastUpdated").empty());
    const auto& identifiers = List(org, "identifier");
    ASSERT_EQ(identifiers.values_size(), 1);
    EXPECT_EQ(Str(identifiers.values(0).struct_value(), "system"),
              "https://fhir.nhs.uk/Id/ods-organization-code");
    EXPECT_EQ(Str(identifiers.values(0).struct_value(), "value"), code);
    const auto& types = List(org, "type");
    ASSERT_EQ(types.values_size(), 2);
    auto coding = [&](int i) -> const Struct& {
      return List(types.values(i).struct_value(), "coding").values(0).struct_value();
    };
    EXPECT_EQ(Str(coding(0), "system"), kOdsRoleSystem);
    EXPECT_EQ(Str(coding(0), "code"), "RO177");
    if (setting == 4) {
      EXPECT_EQ(Str(coding(1), "system"), kOdsRoleSystem);
      EXPECT_EQ(Str(coding(1), "code"), "RO76");
    } else {
      EXPECT_EQ(Str(coding(1), "system"), kPrescribingSettingSystem);
      EXPECT_EQ(Str(coding(1), "code"), absl::StrCat(setting));
    }
  }

  static dorset::testing::TempDir* dir_;
  static dorset::testing::RedisServer* redis_;
  static dorset::testing::ServerProcess* registry_;
  static Child* gateway_;
  static Child* validator_;
  static int registry_port_;
  static int gateway_port_;
};

dorset::testing::TempDir* FhirProcessTest::dir_ = nullptr;
dorset::testing::RedisServer* FhirProcessTest::redis_ = nullptr;
dorset::testing::ServerProcess* FhirProcessTest::registry_ = nullptr;
Child* FhirProcessTest::gateway_ = nullptr;
Child* FhirProcessTest::validator_ = nullptr;
int FhirProcessTest::registry_port_ = 0;
int FhirProcessTest::gateway_port_ = 0;

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
