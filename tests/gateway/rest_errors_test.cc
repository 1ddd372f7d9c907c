// Every error the services map, over HTTP from the real processes (redis-server, dorset-registry
// with bearer tokens and a rate-limited principal, dorset-gateway): each REST answer carries the
// HTTP status google/rpc/code.proto gives its code and exactly the google.rpc.Status - code,
// message and details (BadRequest naming the field, ErrorInfo reason, RetryInfo) - that the same
// call gets over gRPC directly; 429 has Retry-After. The FHIR face answers the same refusals as
// OperationOutcomes. And the audit trail per process (/v1/registry/auditEvents) with the
// registry's permission checks (audit.read).
#include <httplib.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "dorset/common/v1/audit.grpc.pb.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/server_process.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "tests/gateway/gateway_child.h"

namespace dorset::gateway {
namespace {

using google::protobuf::util::JsonStringToMessage;
using registry::v1::RegistryService;

constexpr char kAdmin[] = "errors-admin-token";
constexpr char kReader[] = "errors-reader-token";
constexpr char kFinanceReader[] = "errors-finance-reader-token";
constexpr char kBusy[] = "errors-busy-token";

class RestErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    (void)google::rpc::BadRequest::descriptor();  // Any details resolve from the generated pool
    (void)google::rpc::ErrorInfo::descriptor();
    (void)google::rpc::RetryInfo::descriptor();
    dir_ = new dorset::testing::TempDir();
    auto redis = dorset::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = redis->release();
    dorset::testing::WriteTokensFile(dir_->path() + "/tokens",
                                     {{kAdmin, "errors-admin", "admin"},
                                      {kReader, "errors-reader", "reader"},
                                      {kFinanceReader, "errors-finance", "finance-reader"},
                                      {kBusy, "errors-busy", "admin"}});
    const int registry_port = dorset::testing::FreePort();
    registry_ = new dorset::testing::ServerProcess(
        DORSET_REGISTRY_BINARY, dir_->path(), registry_port, "",
        {"--auth=tokens", "--tokens_file=" + dir_->path() + "/tokens",
         "--redis=" + redis_->address(), "--principal_rate_limits=errors-busy=1/1"});
    channel_ = new std::shared_ptr<grpc::Channel>(dorset::testing::LocalChannel(registry_port));
    auto stub = RegistryService::NewStub(*channel_);
    ASSERT_TRUE(registry_->WaitReady([&] {
      grpc::ClientContext context;
      dorset::testing::AddBearer(context, kAdmin);
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      registry::v1::ListClustersResponse clusters;
      return stub->ListClusters(&context, {}, &clusters).ok();
    }));
    gateway_ = new GatewayChild({absl::StrCat("--registry_target=127.0.0.1:", registry_port)},
                                dir_->path() + "/gateway.log");
    ASSERT_TRUE(gateway_->WaitLive());
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete channel_;
    delete registry_;
    delete redis_;
    delete dir_;
  }

  static std::unique_ptr<RegistryService::Stub> Stub() {
    return RegistryService::NewStub(*channel_);
  }

  // A REST call through the gateway with `token` ("" for none).
  static httplib::Result Rest(const std::string& method, const std::string& path,
                              const std::string& token, const std::string& body = "") {
    httplib::Client client("127.0.0.1", gateway_->port());
    client.set_read_timeout(30, 0);
    httplib::Request req;
    req.method = method;
    req.path = path;
    if (!token.empty()) req.set_header("Authorization", absl::StrCat("Bearer ", token));
    if (!body.empty()) {
      req.body = body;
      req.set_header("Content-Type", "application/json");
    }
    return client.send(req);
  }

  static grpc::ClientContext* Context(grpc::ClientContext& context, const std::string& token) {
    if (!token.empty()) dorset::testing::AddBearer(context, token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return &context;
  }

  // The google.rpc.Status a gRPC status carries (code and message when it has no details).
  static google::rpc::Status Rich(const grpc::Status& status) {
    google::rpc::Status rich;
    if (!status.error_details().empty()) {
      EXPECT_TRUE(rich.ParseFromString(status.error_details()));
    } else {
      rich.set_code(status.error_code());
      rich.set_message(status.error_message());
    }
    return rich;
  }

  // Details sorted: the services do not promise their order (a NOT_FOUND has come with its
  // ErrorInfo first on one call and its ResourceInfo first on the next), only the set.
  static google::rpc::Status Sorted(google::rpc::Status status) {
    std::sort(status.mutable_details()->begin(), status.mutable_details()->end(),
              [](const google::protobuf::Any& a, const google::protobuf::Any& b) {
                return std::tie(a.type_url(), a.value()) < std::tie(b.type_url(), b.value());
              });
    return status;
  }

  static google::rpc::Status FromJson(const std::string& body) {
    google::rpc::Status status;
    const auto parsed = JsonStringToMessage(body, &status);
    EXPECT_TRUE(parsed.ok()) << parsed.ToString() << ": " << body;
    return status;
  }

  template <typename T>
  static bool Has(const google::rpc::Status& status, T* out) {
    for (const auto& any : status.details()) {
      if (any.UnpackTo(out)) return true;
    }
    return false;
  }

  static dorset::testing::TempDir* dir_;
  static dorset::testing::RedisServer* redis_;
  static dorset::testing::ServerProcess* registry_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static GatewayChild* gateway_;
};

dorset::testing::TempDir* RestErrorsTest::dir_ = nullptr;
dorset::testing::RedisServer* RestErrorsTest::redis_ = nullptr;
dorset::testing::ServerProcess* RestErrorsTest::registry_ = nullptr;
std::shared_ptr<grpc::Channel>* RestErrorsTest::channel_ = nullptr;
GatewayChild* RestErrorsTest::gateway_ = nullptr;

registry::v1::Practice NewPractice(const std::string& ods) {
  registry::v1::Practice practice;
  practice.set_ods_code(ods);
  practice.set_display_name("ERRORS SURGERY");
  practice.add_address_lines("1 HIGH STREET");
  practice.set_postcode("BH15 1AA");
  practice.set_status(registry::v1::Practice::STATUS_ACTIVE);
  practice.set_open_date("2024-04-01");
  return practice;
}

std::string Json(const google::protobuf::Message& message) {
  std::string out;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &out).ok());
  return out;
}

// One refusal: the REST call and the same call over gRPC.
struct Refusal {
  std::string what;
  std::string method, path, token, body;
  std::function<grpc::Status()> grpc;
  int http_status;
  grpc::StatusCode code;
  std::string field;   // a BadRequest field violation names it, when not empty
  std::string reason;  // an ErrorInfo has this reason, when not empty
};

TEST_F(RestErrorsTest, EveryMappedStatusCarriesTheSameDetailsAsGrpc) {
  // A practice to conflict with, and its etag before an update makes it stale.
  registry::v1::Practice current;
  std::string stale_etag;
  {
    auto created = Rest("POST", "/v1/practices?requestId=errors-create-1", kAdmin,
                        Json(NewPractice("X98001")));
    ASSERT_TRUE(created);
    ASSERT_EQ(created->status, 200) << created->body;
    ASSERT_TRUE(JsonStringToMessage(created->body, &current).ok());
    stale_etag = current.etag();
    registry::v1::Practice rename;
    rename.set_display_name("RENAMED SURGERY");
    rename.set_etag(stale_etag);
    auto updated =
        Rest("PATCH", "/v1/practices/X98001?updateMask=displayName", kAdmin, Json(rename));
    ASSERT_TRUE(updated);
    ASSERT_EQ(updated->status, 200) << updated->body;
  }
  auto stub = Stub();
  registry::v1::Practice reply;
  const auto get = [&](const std::string& name, const std::string& token) {
    return [&, name, token] {
      grpc::ClientContext context;
      registry::v1::GetPracticeRequest request;
      request.set_name(name);
      return stub->GetPractice(Context(context, token), request, &reply);
    };
  };
  const auto create = [&](const registry::v1::Practice& practice, const std::string& request_id,
                          const std::string& token) {
    return [&, practice, request_id, token] {
      grpc::ClientContext context;
      registry::v1::CreatePracticeRequest request;
      *request.mutable_practice() = practice;
      request.set_request_id(request_id);
      return stub->CreatePractice(Context(context, token), request, &reply);
    };
  };
  registry::v1::Practice nameless = NewPractice("");
  registry::v1::Practice stale;
  stale.set_name("practices/X98001");
  stale.set_display_name("STALE NAME");
  stale.set_etag(stale_etag);
  const std::vector<Refusal> cases = {
      {"a required field missing", "POST", "/v1/practices?requestId=errors-bad-1", kAdmin,
       Json(nameless), create(nameless, "errors-bad-2", kAdmin), 400,
       grpc::StatusCode::INVALID_ARGUMENT, "practice.ods_code", ""},
      {"no such practice", "GET", "/v1/practices/Z99999", kAdmin, "",
       get("practices/Z99999", kAdmin), 404, grpc::StatusCode::NOT_FOUND, "", ""},
      {"the practice exists", "POST", "/v1/practices?requestId=errors-dup-1", kAdmin,
       Json(NewPractice("X98001")), create(NewPractice("X98001"), "errors-dup-2", kAdmin), 409,
       grpc::StatusCode::ALREADY_EXISTS, "", ""},
      {"a stale etag", "PATCH", "/v1/practices/X98001?updateMask=displayName", kAdmin, Json(stale),
       [&] {
         grpc::ClientContext context;
         registry::v1::UpdatePracticeRequest request;
         *request.mutable_practice() = stale;
         request.mutable_update_mask()->add_paths("display_name");
         return stub->UpdatePractice(Context(context, kAdmin), request, &reply);
       },
       409, grpc::StatusCode::ABORTED, "", "ETAG_MISMATCH"},
      {"no token", "GET", "/v1/practices/X98001", "", "", get("practices/X98001", ""), 401,
       grpc::StatusCode::UNAUTHENTICATED, "", ""},
      {"an unknown token", "GET", "/v1/practices/X98001", "forged", "",
       get("practices/X98001", "forged"), 401, grpc::StatusCode::UNAUTHENTICATED, "", ""},
      {"a reader writing", "POST", "/v1/practices?requestId=errors-role-1", kReader,
       Json(NewPractice("X98002")), create(NewPractice("X98002"), "errors-role-2", kReader), 403,
       grpc::StatusCode::PERMISSION_DENIED, "", ""},
      {"a finance reader reading the registry", "GET", "/v1/practices/X98001", kFinanceReader, "",
       get("practices/X98001", kFinanceReader), 403, grpc::StatusCode::PERMISSION_DENIED, "", ""},
  };
  for (const Refusal& c : cases) {
    SCOPED_TRACE(c.what + ": " + c.method + " " + c.path);
    auto rest = Rest(c.method, c.path, c.token, c.body);
    ASSERT_TRUE(rest);
    EXPECT_EQ(rest->status, c.http_status) << rest->body;
    EXPECT_EQ(rest->get_header_value("Content-Type"), "application/json");
    const google::rpc::Status over_http = FromJson(rest->body);
    const grpc::Status direct = c.grpc();
    EXPECT_EQ(direct.error_code(), c.code) << direct.error_message();
    EXPECT_EQ(over_http.code(), c.code) << rest->body;
    // The same status both ways, details and all.
    const google::rpc::Status over_grpc = Rich(direct);
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(Sorted(over_http), Sorted(over_grpc)))
        << "HTTP: " << over_http.DebugString() << "\ngRPC: " << over_grpc.DebugString();
    if (!c.field.empty()) {
      google::rpc::BadRequest bad;
      ASSERT_TRUE(Has(over_http, &bad)) << rest->body;
      ASSERT_GT(bad.field_violations_size(), 0);
      EXPECT_EQ(bad.field_violations(0).field(), c.field) << rest->body;
    }
    if (!c.reason.empty()) {
      google::rpc::ErrorInfo info;
      ASSERT_TRUE(Has(over_http, &info)) << rest->body;
      EXPECT_EQ(info.reason(), c.reason);
    }
  }
}

// The busy principal may make 1 call a second (burst 1), over gRPC and HTTP alike: the second
// call is RESOURCE_EXHAUSTED with a RetryInfo both ways, 429 with Retry-After over REST and
// over FHIR (an OperationOutcome, "throttled").
TEST_F(RestErrorsTest, RateLimitedIs429WithRetryAfterAsOverGrpc) {
  // Spend the allowance (an earlier second's token may still be there: call until refused).
  httplib::Result rest = Rest("GET", "/v1/localities", kBusy);
  for (int i = 0; i < 5 && rest && rest->status != 429; ++i) {
    rest = Rest("GET", "/v1/localities", kBusy);
  }
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->status, 429) << rest->body;
  const std::string retry_after = rest->get_header_value("Retry-After");
  int seconds = 0;
  ASSERT_TRUE(absl::SimpleAtoi(retry_after, &seconds)) << "Retry-After: " << retry_after;
  EXPECT_GE(seconds, 1);
  const google::rpc::Status over_http = FromJson(rest->body);
  EXPECT_EQ(over_http.code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  google::rpc::RetryInfo http_retry;
  ASSERT_TRUE(Has(over_http, &http_retry)) << rest->body;

  grpc::ClientContext context;
  registry::v1::ListLocalitiesResponse localities;
  const grpc::Status direct = Stub()->ListLocalities(Context(context, kBusy), {}, &localities);
  ASSERT_EQ(direct.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << direct.error_message();
  const google::rpc::Status over_grpc = Rich(direct);
  google::rpc::RetryInfo grpc_retry;
  ASSERT_TRUE(Has(over_grpc, &grpc_retry));
  // The delay depends on when each call came; the rest is the same.
  EXPECT_EQ(over_http.message(), over_grpc.message());
  EXPECT_EQ(over_http.details_size(), over_grpc.details_size());

  auto fhir = Rest("GET", "/fhir/R4/Organization/X98001", kBusy);
  ASSERT_TRUE(fhir);
  EXPECT_EQ(fhir->status, 429) << fhir->body;
  EXPECT_FALSE(fhir->get_header_value("Retry-After").empty());
  EXPECT_NE(fhir->body.find("\"resourceType\":\"OperationOutcome\""), std::string::npos);
  EXPECT_NE(fhir->body.find("\"code\":\"throttled\""), std::string::npos) << fhir->body;
}

// The FHIR face refuses as the registry does, as OperationOutcomes.
TEST_F(RestErrorsTest, FhirRefusalsAreOperationOutcomes) {
  struct Case {
    std::string path, token;
    int status;
    std::string issue;
  };
  const std::vector<Case> cases = {
      {"/fhir/R4/Organization/J81002", "", 401, "login"},
      {"/fhir/R4/Organization/J81002", kFinanceReader, 403, "forbidden"},
      {"/fhir/R4/Organization?_summary=count", kFinanceReader, 403, "forbidden"},
      {"/fhir/R4/Organization/Z99999", kAdmin, 404, "not-found"},
      {"/fhir/R4/Organization?_count=abc", kAdmin, 400, "invalid"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path + " as " + c.token);
    auto answer = Rest("GET", c.path, c.token);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, c.status) << answer->body;
    EXPECT_EQ(answer->get_header_value("Content-Type"), "application/fhir+json");
    google::protobuf::Struct outcome;
    ASSERT_TRUE(JsonStringToMessage(answer->body, &outcome).ok()) << answer->body;
    EXPECT_EQ(outcome.fields().at("resourceType").string_value(), "OperationOutcome");
    EXPECT_EQ(outcome.fields()
                  .at("issue")
                  .list_value()
                  .values(0)
                  .struct_value()
                  .fields()
                  .at("code")
                  .string_value(),
              c.issue);
  }
}

// ListAuditEvents through the gateway: each process's own trail under its name, with the
// same permission (audit.read) as over gRPC.
TEST_F(RestErrorsTest, AuditEventsPerProcessWithTheSamePermissions) {
  auto created =
      Rest("POST", "/v1/practices?requestId=errors-audit-1", kAdmin, Json(NewPractice("X98003")));
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  auto trail = Rest("GET", "/v1/registry/auditEvents?pageSize=1000", kAdmin);
  ASSERT_TRUE(trail);
  ASSERT_EQ(trail->status, 200) << trail->body;
  common::v1::ListAuditEventsResponse events;
  ASSERT_TRUE(JsonStringToMessage(trail->body, &events).ok()) << trail->body;
  bool found = false;
  for (const auto& event : events.events()) {
    found |= event.method() == "/dorset.registry.v1.RegistryService/CreatePractice" &&
             event.resource() == "practices/X98003" && event.principal() == "errors-admin" &&
             event.outcome() == "OK";
  }
  EXPECT_TRUE(found) << trail->body;
  // The same page as over gRPC.
  {
    grpc::ClientContext context;
    common::v1::ListAuditEventsRequest request;
    request.set_page_size(1000);
    common::v1::ListAuditEventsResponse direct;
    ASSERT_TRUE(common::v1::AuditService::NewStub(*channel_)
                    ->ListAuditEvents(Context(context, kAdmin), request, &direct)
                    .ok());
    // The gRPC call above is audited? Only writes, personal-data reads and refusals are, so
    // the REST page is a prefix of the direct one.
    ASSERT_GE(direct.events_size(), events.events_size());
    for (int i = 0; i < events.events_size(); ++i) {
      EXPECT_TRUE(
          google::protobuf::util::MessageDifferencer::Equals(events.events(i), direct.events(i)));
    }
  }
  // A reader may not read the trail; no token is 401; both as over gRPC.
  for (const auto& [token, http_status, code] :
       std::vector<std::tuple<std::string, int, grpc::StatusCode>>{
           {kReader, 403, grpc::StatusCode::PERMISSION_DENIED},
           {"", 401, grpc::StatusCode::UNAUTHENTICATED}}) {
    auto refused = Rest("GET", "/v1/registry/auditEvents", token);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, http_status) << refused->body;
    grpc::ClientContext context;
    common::v1::ListAuditEventsResponse direct;
    const grpc::Status status = common::v1::AuditService::NewStub(*channel_)->ListAuditEvents(
        Context(context, token), {}, &direct);
    EXPECT_EQ(status.error_code(), code);
    EXPECT_EQ(FromJson(refused->body).code(), code);
  }
  // The binding as written names no process: no route.
  auto unscoped = Rest("GET", "/v1/auditEvents", kAdmin);
  ASSERT_TRUE(unscoped);
  EXPECT_EQ(unscoped->status, 404);
}

}  // namespace
}  // namespace dorset::gateway
