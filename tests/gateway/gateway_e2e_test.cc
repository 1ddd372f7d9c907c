// The gateway in front of the real services, every part a real process: redis-server
// (runtime/testing), dorset-registry, dorset-finance and dorset-engagement
// (runtime/testing/server_process) and dorset-gateway. Through REST alone: the engagement story
// the gRPC tests tell (create -> update -> stale update = HTTP 409 with the google.rpc details ->
// list -> delete), the registry's WatchChanges read as NDJSON, and every operation the served
// /openapi.json lists called from the document alone, each answered without a 5xx.
#include <httplib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "dorset/registry/v1/registry.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/server_process.h"
#include "runtime/testing/temp_dir.h"
#include "tests/gateway/gateway_child.h"

namespace dorset::gateway {
namespace {

using google::protobuf::Struct;
using google::protobuf::util::JsonStringToMessage;
using google::protobuf::util::MessageToJsonString;

Struct Json(const std::string& text) {
  Struct out;
  EXPECT_TRUE(JsonStringToMessage(text, &out).ok()) << text;
  return out;
}

const std::string& Text(const Struct& s, const std::string& field) {
  static const std::string kEmpty;
  auto it = s.fields().find(field);
  return it == s.fields().end() ? kEmpty : it->second.string_value();
}

class GatewayEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    const std::string redis_flag = "--redis=" + redis_->address();
    const int registry_port = testing::FreePort();
    registry_ = std::make_unique<testing::ServerProcess>(DORSET_REGISTRY_BINARY,
                                                         DataDir("registry"), registry_port, "",
                                                         std::vector<std::string>{redis_flag});
    const std::string registry_target = absl::StrCat("127.0.0.1:", registry_port);
    const int finance_port = testing::FreePort();
    finance_ = std::make_unique<testing::ServerProcess>(
        DORSET_FINANCE_BINARY, DataDir("finance"), finance_port, "",
        std::vector<std::string>{redis_flag, "--registry_target=" + registry_target});
    const int engagement_port = testing::FreePort();
    engagement_ = std::make_unique<testing::ServerProcess>(
        DORSET_ENGAGEMENT_BINARY, DataDir("engagement"), engagement_port, "",
        std::vector<std::string>{redis_flag, "--registry_target=" + registry_target});
    gateway_ = std::make_unique<GatewayChild>(
        std::vector<std::string>{"--registry_target=" + registry_target,
                                 absl::StrCat("--finance_target=127.0.0.1:", finance_port),
                                 absl::StrCat("--engagement_target=127.0.0.1:", engagement_port)},
        dir_.File("gateway.log"));
    ASSERT_TRUE(gateway_->WaitListening()) << "the gateway did not start: see gateway.log";
    client_ = std::make_unique<httplib::Client>("127.0.0.1", gateway_->port());
    client_->set_connection_timeout(5, 0);
    client_->set_read_timeout(60, 0);
    // Ready when each service answers through the gateway (a service still starting is 503).
    const absl::Time deadline = absl::Now() + absl::Seconds(90);
    for (const char* probe : {"/v1/localities", "/v1/plans", "/v1/activities"}) {
      while (true) {
        auto answer = client_->Get(probe);
        if (answer && answer->status == 200) break;
        ASSERT_LT(absl::Now(), deadline)
            << probe << " never answered 200: " << (answer ? answer->body : "no connection");
        absl::SleepFor(absl::Milliseconds(200));
      }
    }
  }

  // A data directory of its own for each process.
  std::string DataDir(const std::string& name) {
    const std::string path = dir_.File(name);
    std::filesystem::create_directories(path);
    return path;
  }

  httplib::Result Send(const std::string& method, const std::string& path,
                       const std::string& body = "") {
    httplib::Request req;
    req.method = method;
    req.path = path;
    if (!body.empty()) {
      req.body = body;
      req.set_header("Content-Type", "application/json");
    }
    return client_->send(req);
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<testing::ServerProcess> registry_, finance_, engagement_;
  std::unique_ptr<GatewayChild> gateway_;
  std::unique_ptr<httplib::Client> client_;
};

// The story of tests/engagement/lifecycle_test.cc and delete_test.cc, through REST.
TEST_F(GatewayEndToEndTest, CreateUpdateStaleUpdateListDeleteThroughRest) {
  engagement::v1::Activity activity;
  activity.set_kind(engagement::v1::ACTIVITY_KIND_CONSULTATION);
  activity.set_title("REST story");
  activity.set_purpose("testing the gateway");
  std::string body;
  ASSERT_TRUE(MessageToJsonString(activity, &body).ok());
  auto created = Send("POST", "/v1/activities?activityId=rest-story", body);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  const Struct first = Json(created->body);
  EXPECT_EQ(Text(first, "name"), "activities/rest-story");
  EXPECT_EQ(Text(first, "kind"), "ACTIVITY_KIND_CONSULTATION");
  const std::string etag = Text(first, "etag");
  ASSERT_FALSE(etag.empty());

  const std::string update = absl::StrCat(R"({"title":"Renamed","etag":")",
                                          absl::StrReplaceAll(etag, {{"\"", "\\\""}}), "\"}");
  auto updated = Send("PATCH", "/v1/activities/rest-story?updateMask=title", update);
  ASSERT_TRUE(updated);
  ASSERT_EQ(updated->status, 200) << updated->body;
  const Struct second = Json(updated->body);
  EXPECT_EQ(Text(second, "title"), "Renamed");
  const std::string new_etag = Text(second, "etag");
  EXPECT_NE(new_etag, etag);

  // The first etag is stale now: 409, a google.rpc.Status with ABORTED and an ErrorInfo.
  auto stale = Send("PATCH", "/v1/activities/rest-story?updateMask=title", update);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 409) << stale->body;
  const Struct status = Json(stale->body);
  EXPECT_EQ(status.fields().at("code").number_value(), 10);  // ABORTED
  bool error_info = false;
  for (const auto& detail : status.fields().at("details").list_value().values()) {
    const Struct& d = detail.struct_value();
    if (Text(d, "@type") != "type.googleapis.com/google.rpc.ErrorInfo") continue;
    error_info = true;
    EXPECT_EQ(Text(d, "reason"), "ETAG_MISMATCH") << stale->body;
  }
  EXPECT_TRUE(error_info) << stale->body;

  auto listed = client_->Get("/v1/activities?pageSize=50");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->status, 200) << listed->body;
  bool found = false;
  // Named: a range-for over a temporary's member reads freed memory (C++20 keeps only the
  // outermost temporary alive) - the ASan abort that made this test look like a timeout.
  const Struct list = Json(listed->body);
  for (const auto& a : list.fields().at("activities").list_value().values()) {
    if (Text(a.struct_value(), "name") != "activities/rest-story") continue;
    found = true;
    EXPECT_EQ(Text(a.struct_value(), "title"), "Renamed");
  }
  EXPECT_TRUE(found) << listed->body;

  // Delete with the stale etag is refused too; with the current one it goes.
  auto refused =
      Send("DELETE", "/v1/activities/rest-story?etag=" + httplib::detail::encode_query_param(etag));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 409) << refused->body;
  auto deleted = Send(
      "DELETE", "/v1/activities/rest-story?etag=" + httplib::detail::encode_query_param(new_etag));
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 200) << deleted->body;
  auto gone = client_->Get("/v1/activities/rest-story");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404) << gone->body;
  EXPECT_EQ(Json(gone->body).fields().at("code").number_value(), 5);  // NOT_FOUND
}

// A server stream as NDJSON: the registry's change feed after a practice is created through
// REST, read line by line until the practice's change arrives, then the client goes away.
TEST_F(GatewayEndToEndTest, WatchChangesStreamsAsNdjson) {
  registry::v1::Practice practice;
  practice.set_ods_code("X99001");
  practice.set_display_name("REST SURGERY");
  practice.add_address_lines("1 HIGH STREET");
  practice.set_postcode("BH15 1AA");
  practice.set_status(registry::v1::Practice::STATUS_ACTIVE);
  practice.set_open_date("2024-04-01");
  std::string body;
  ASSERT_TRUE(MessageToJsonString(practice, &body).ok());
  auto created = Send("POST", "/v1/practices?requestId=rest-watch-1", body);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  const std::string name = Text(Json(created->body), "name");
  ASSERT_EQ(name, "practices/X99001");

  std::string content_type;
  std::string buffer;
  std::vector<std::string> lines;
  bool seen = false;
  auto stream = client_->Get(
      "/v1/changes:watch?afterSequence=0",
      [&](const httplib::Response& response) {
        content_type = response.get_header_value("Content-Type");
        return response.status == 200;
      },
      [&](const char* data, size_t length) {
        buffer.append(data, length);
        size_t end;
        while ((end = buffer.find('\n')) != std::string::npos) {
          lines.push_back(buffer.substr(0, end));
          buffer.erase(0, end + 1);
          registry::v1::Change change;
          EXPECT_TRUE(JsonStringToMessage(lines.back(), &change).ok()) << lines.back();
          if (change.resource() == name &&
              change.kind() == registry::v1::Change::KIND_PRACTICE_CREATED) {
            EXPECT_EQ(change.practice().display_name(), "REST SURGERY");
            seen = true;
          }
        }
        return !seen;  // stop reading (the client goes away) once the change is in
      });
  EXPECT_TRUE(seen) << "lines: " << lines.size() << " " << stream.error();
  EXPECT_EQ(content_type, "application/x-ndjson");
  // The gateway still serves after the client went away mid-stream.
  auto after = client_->Get("/v1/" + name);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
}

// Every operation of the served document, called as the document says (path parameters from
// their examples, `{}` as the body where one is taken): each reaches its service and is answered
// without a 5xx (a 4xx for data that does not exist is the expected answer here).
TEST_F(GatewayEndToEndTest, EveryOperationOfTheServedDocumentAnswersWithoutA5xx) {
  // One change in the registry's feed, so WatchChanges answers (200, NDJSON) before its
  // deadline ends it rather than timing out with nothing sent (504).
  auto created = Send("POST", "/v1/practices?requestId=rest-every-1",
                      R"({"odsCode":"X99002","displayName":"EVERY OP SURGERY",)"
                      R"("postcode":"BH15 1AA","status":"STATUS_ACTIVE","openDate":"2024-04-01"})");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  auto served = client_->Get("/openapi.json");
  ASSERT_TRUE(served);
  ASSERT_EQ(served->status, 200);
  const Struct doc = Json(served->body);
  int operations = 0, ok = 0;
  for (const auto& [path, item] : doc.fields().at("paths").struct_value().fields()) {
    for (const auto& [method, op] : item.struct_value().fields()) {
      const auto& fields = op.struct_value().fields();
      // The summary is the RPC's comment; without one it would be the bare method name.
      const std::string& id = Text(op.struct_value(), "operationId");
      const std::string& summary = Text(op.struct_value(), "summary");
      EXPECT_EQ(id.find("_" + summary), std::string::npos) << id << ": no proto comment";
      EXPECT_NE(Text(op.struct_value(), "description").find("gRPC: `/dorset."), std::string::npos);
      std::string url = path;
      for (const auto& p : fields.at("parameters").list_value().values()) {
        const auto& param = p.struct_value().fields();
        if (param.at("in").string_value() != "path") continue;
        ASSERT_TRUE(param.count("example")) << path;
        const std::string& example = param.at("example").string_value();
        url = absl::StrReplaceAll(url, {{"{" + param.at("name").string_value() + "}", example}});
      }
      httplib::Request req;
      req.method = absl::AsciiStrToUpper(method);
      req.path = url;
      if (fields.count("requestBody")) {
        req.body = "{}";
        req.set_header("Content-Type", "application/json");
      }
      // A server stream (WatchChanges) would wait for changes: the deadline ends it.
      req.set_header("grpc-timeout", "3S");
      SCOPED_TRACE(req.method + " " + url);
      auto result = client_->send(req);
      ASSERT_TRUE(result) << result.error();
      EXPECT_LT(result->status, 500) << result->body;
      EXPECT_GE(result->status, 200);
      if (result->status == 200) ++ok;
      ++operations;
    }
  }
  // Every RPC of the three services with a binding (a few have two): the document lists them
  // all, and some succeed outright on an empty system (the lists, the seeded plan's reads).
  EXPECT_GE(operations, 83);  // one per route (83 when this was written)
  EXPECT_GT(ok, 10);
  std::printf("operations called: %d (%d answered 200)\n", operations, ok);
}

}  // namespace
}  // namespace dorset::gateway
