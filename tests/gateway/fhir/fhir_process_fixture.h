// The fixture of the FHIR process tests: redis-server, dorset-registry (bearer tokens, the
// shipped Dorset data imported with dorsetctl, J81012 closed into J81086) and dorset-gateway,
// started once per test binary run, and the checks every FHIR test shares: each response is
// FHIR JSON that HL7's R4 JSON schema accepts (tests/gateway/fhir/validate_fhir.js, node, from
// the project's package-lock.json), golden files (tests/gateway/fhir/golden) and the UK Core
// Organization rules.
//
// DORSET_UPDATE_GOLDEN=1 rewrites the golden files from what the gateway answers (then read
// the diff before committing it).
#ifndef DORSET_TESTS_GATEWAY_FHIR_FHIR_PROCESS_FIXTURE_H_
#define DORSET_TESTS_GATEWAY_FHIR_FHIR_PROCESS_FIXTURE_H_

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
#include "tests/gateway/gateway_child.h"

namespace dorset::gateway::fhir {

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
    gateway_ = new GatewayChild({absl::StrCat("--registry_target=127.0.0.1:", registry_port_)},
                                dir_->path() + "/gateway.log");
    ASSERT_TRUE(gateway_->WaitLive()) << ReadFile(dir_->path() + "/gateway.log");
    gateway_port_ = gateway_->port();
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

  inline static dorset::testing::TempDir* dir_ = {};
  inline static dorset::testing::RedisServer* redis_ = {};
  inline static dorset::testing::ServerProcess* registry_ = {};
  inline static GatewayChild* gateway_ = {};
  inline static Child* validator_ = {};
  inline static int registry_port_ = {};
  inline static int gateway_port_ = {};
};

}  // namespace dorset::gateway::fhir

#endif  // DORSET_TESTS_GATEWAY_FHIR_FHIR_PROCESS_FIXTURE_H_
