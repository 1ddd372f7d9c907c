// The gateway over real sockets: HTTP/JSON in through cpp-httplib, gRPC out over loopback to a
// ShelfService (the test-only contract), a create -> stale update (409 with details) -> list ->
// delete story, NDJSON streams, pass-through of authorization/x-request-id/deadline, and bad
// input answered 4xx with a google.rpc.Status body, never 5xx.
#include "gateway/gateway_server.h"

#include <httplib.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "dorset/gateway/testing/v1/shelf.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "runtime/status/errors.h"
#include "runtime/status/grpc_status.h"

namespace dorset::gateway {
namespace {

namespace v1 = dorset::gateway::testing::v1;

std::string Metadata(grpc::ServerContext* context, const std::string& key) {
  auto it = context->client_metadata().find(key);
  return it == context->client_metadata().end() ? ""
                                                : std::string(it->second.data(), it->second.size());
}

class Shelf final : public v1::ShelfService::Service {
 public:
  grpc::Status GetThing(grpc::ServerContext* context, const v1::GetThingRequest* request,
                        v1::Thing* response) override {
    if (request->name() == "shelves/s/things/busy") {
      return runtime::ToGrpcStatus(runtime::ResourceExhausted("busy", absl::Seconds(7)));
    }
    if (request->name() == "shelves/s/things/deadline") {
      const auto left = context->deadline() - std::chrono::system_clock::now();
      response->set_count(std::chrono::duration_cast<std::chrono::seconds>(left).count());
      return grpc::Status::OK;
    }
    absl::MutexLock lock(&mu_);
    auto it = things_.find(request->name());
    if (it == things_.end())
      return runtime::ToGrpcStatus(runtime::NotFound("Thing", request->name()));
    *response = it->second;
    return grpc::Status::OK;
  }
  grpc::Status ListThings(grpc::ServerContext*, const v1::ListThingsRequest* request,
                          v1::ListThingsResponse* response) override {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, thing] : things_) {
      if (name.rfind(request->parent() + "/", 0) == 0) *response->add_things() = thing;
    }
    return grpc::Status::OK;
  }
  grpc::Status CreateThing(grpc::ServerContext*, const v1::CreateThingRequest* request,
                           v1::Thing* response) override {
    if (request->thing().display_name().empty()) {
      return runtime::ToGrpcStatus(runtime::InvalidArgument("thing.display_name", "required"));
    }
    absl::MutexLock lock(&mu_);
    v1::Thing thing = request->thing();
    thing.set_name(absl::StrCat(request->parent(), "/things/", request->thing_id()));
    thing.set_etag("W/\"1\"");
    things_[thing.name()] = thing;
    *response = thing;
    return grpc::Status::OK;
  }
  grpc::Status UpdateThing(grpc::ServerContext*, const v1::UpdateThingRequest* request,
                           v1::Thing* response) override {
    absl::MutexLock lock(&mu_);
    auto it = things_.find(request->thing().name());
    if (it == things_.end()) {
      return runtime::ToGrpcStatus(runtime::NotFound("Thing", request->thing().name()));
    }
    if (request->thing().etag() != it->second.etag()) {
      return runtime::ToGrpcStatus(runtime::EtagMismatch("Thing", request->thing().name()));
    }
    it->second.set_display_name(request->thing().display_name());
    revision_++;
    it->second.set_etag(absl::StrCat("W/\"", revision_, "\""));
    *response = it->second;
    return grpc::Status::OK;
  }
  grpc::Status DeleteThing(grpc::ServerContext*, const v1::DeleteThingRequest* request,
                           v1::DeleteThingResponse*) override {
    absl::MutexLock lock(&mu_);
    if (things_.erase(request->name()) == 0) {
      return runtime::ToGrpcStatus(runtime::NotFound("Thing", request->name()));
    }
    return grpc::Status::OK;
  }
  grpc::Status Echo(grpc::ServerContext* context, const v1::EchoRequest* request,
                    v1::EchoResponse* response) override {
    response->set_text(absl::StrCat(request->text(), "|", Metadata(context, "authorization"), "|",
                                    Metadata(context, "x-request-id")));
    return grpc::Status::OK;
  }
  grpc::Status ImportThings(grpc::ServerContext*,
                            grpc::ServerReader<v1::ImportThingRequest>* reader,
                            v1::ListThingsResponse* response) override {
    v1::ImportThingRequest request;
    while (reader->Read(&request)) {
      if (request.thing().display_name().empty()) {
        return runtime::ToGrpcStatus(runtime::InvalidArgument("thing.display_name", "required"));
      }
      v1::Thing* thing = response->add_things();
      *thing = request.thing();
      thing->set_name(absl::StrCat(request.parent(), "/things/", response->things_size()));
    }
    return grpc::Status::OK;
  }
  grpc::Status WatchThings(grpc::ServerContext*, const v1::ListThingsRequest* request,
                           grpc::ServerWriter<v1::Thing>* writer) override {
    if (request->parent() == "shelves/missing") {
      return runtime::ToGrpcStatus(runtime::NotFound("Shelf", request->parent()));
    }
    for (int i = 0; i < 3; ++i) {
      v1::Thing thing;
      thing.set_name(absl::StrCat(request->parent(), "/things/", i));
      thing.set_count(i);
      writer->Write(thing);
    }
    if (request->parent() == "shelves/broken") {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the shelf fell over");
    }
    return grpc::Status::OK;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, v1::Thing> things_ ABSL_GUARDED_BY(mu_);
  int revision_ ABSL_GUARDED_BY(mu_) = 1;
};

class GatewayServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int grpc_port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port);
    builder.RegisterService(&shelf_);
    grpc_server_ = builder.BuildAndStart();
    ASSERT_GT(grpc_port, 0);
    GatewayOptions options;
    options.backends["dorset.gateway.testing.v1.ShelfService"] = grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials());
    options.max_body_bytes = 64 * 1024;
    auto gateway = GatewayServer::Start(std::move(options));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", gateway_->port());
    client_->set_read_timeout(30, 0);
  }
  void TearDown() override {
    gateway_.reset();
    if (grpc_server_) grpc_server_->Shutdown();
  }

  // The google.rpc.Status of an error body (fails the test when it is not one).
  static google::rpc::Status StatusOf(const httplib::Result& result) {
    google::rpc::Status status;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(result->body, &status).ok())
        << result->body;
    EXPECT_NE(status.code(), 0) << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
    return status;
  }

  Shelf shelf_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<GatewayServer> gateway_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(GatewayServerTest, CreateStaleUpdateListDeleteStory) {
  auto created = client_->Post("/v1/shelves/s/things?thing_id=t1",
                               R"({"displayName":"Atlas","kind":"KIND_BOOK"})", "application/json");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 200) << created->body;
  EXPECT_EQ(
      created->body,
      R"({"name":"shelves/s/things/t1","displayName":"Atlas","kind":"KIND_BOOK","etag":"W/\"1\""})");

  auto updated =
      client_->Patch("/v1/shelves/s/things/t1", R"({"displayName":"Atlas II","etag":"W/\"1\""})",
                     "application/json");
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->status, 200) << updated->body;

  // The same etag again is stale: ABORTED -> 409 with the google.rpc details.
  auto stale =
      client_->Patch("/v1/shelves/s/things/t1", R"({"displayName":"Atlas III","etag":"W/\"1\""})",
                     "application/json");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 409);
  google::rpc::Status status = StatusOf(stale);
  EXPECT_EQ(status.code(), static_cast<int>(grpc::StatusCode::ABORTED));
  EXPECT_GT(status.details_size(), 0);
  EXPECT_NE(stale->body.find("type.googleapis.com/google.rpc.ErrorInfo"), std::string::npos)
      << stale->body;

  auto list = client_->Get("/v1/shelves/s/things");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_NE(list->body.find("Atlas II"), std::string::npos) << list->body;

  auto deleted = client_->Delete("/v1/shelves/s/things/t1");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 200);
  EXPECT_EQ(deleted->body, "{}");
  auto gone = client_->Get("/v1/shelves/s/things/t1");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  EXPECT_EQ(StatusOf(gone).code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
}

TEST_F(GatewayServerTest, ServerStreamAsNdjson) {
  auto ok = client_->Get("/v1/shelves/s/things:watch");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("Content-Type"), "application/x-ndjson");
  EXPECT_EQ(ok->body,
            "{\"name\":\"shelves/s/things/0\"}\n"
            "{\"name\":\"shelves/s/things/1\",\"count\":\"1\"}\n"
            "{\"name\":\"shelves/s/things/2\",\"count\":\"2\"}\n");

  auto refused = client_->Get("/v1/shelves/missing/things:watch");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 404);
  StatusOf(refused);

  auto broken = client_->Get("/v1/shelves/broken/things:watch");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status, 200);
  EXPECT_NE(broken->body.find(
                "{\"name\":\"shelves/broken/things/2\",\"count\":\"2\"}\n{\"error\":{\"code\":14"),
            std::string::npos)
      << broken->body;
}

TEST_F(GatewayServerTest, ClientStreamFromNdjson) {
  auto imported =
      client_->Post("/v1/shelves/s/things:import",
                    "{\"thing\":{\"displayName\":\"a\"}}\n{\"thing\":{\"displayName\":\"b\"}}\n",
                    "application/x-ndjson");
  ASSERT_TRUE(imported);
  EXPECT_EQ(imported->status, 200) << imported->body;
  EXPECT_EQ(imported->body, R"({"things":[{"name":"shelves/s/things/1","displayName":"a"},)"
                            R"({"name":"shelves/s/things/2","displayName":"b"}]})");
  // The service refuses the second line: its status comes back as is.
  auto refused = client_->Post("/v1/shelves/s/things:import",
                               "{\"thing\":{\"displayName\":\"a\"}}\n{\"thing\":{}}\n",
                               "application/x-ndjson");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_NE(refused->body.find("thing.display_name"), std::string::npos) << refused->body;
  // A line that is not JSON is refused by the gateway, naming the line.
  auto malformed =
      client_->Post("/v1/shelves/s/things:import", "{}\n{oops\n", "application/x-ndjson");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_NE(malformed->body.find("line 2"), std::string::npos) << malformed->body;
}

TEST_F(GatewayServerTest, PassesAuthorizationRequestIdAndDeadlineThrough) {
  auto echoed =
      client_->Get("/v1/echo/hi", {{"Authorization", "Bearer abc"}, {"X-Request-Id", "req-42"}});
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->body, R"("hi|Bearer abc|req-42")");
  EXPECT_EQ(echoed->get_header_value("X-Request-Id"), "req-42");

  auto generated = client_->Post("/v1/echo", R"({"text":"x"})", "application/json");
  ASSERT_TRUE(generated);
  const std::string id = generated->get_header_value("X-Request-Id");
  EXPECT_EQ(id.rfind("gw-", 0), 0u) << id;
  // The additional binding has no response_body of its own: the whole response (http.proto).
  EXPECT_EQ(generated->body, absl::StrCat("{\"text\":\"x||", id, "\"}"));

  auto deadline = client_->Get("/v1/shelves/s/things/deadline", {{"grpc-timeout", "100S"}});
  ASSERT_TRUE(deadline);
  // 100 s asked for: the service sees 99 or 100 s left, not the 30 s default.
  EXPECT_TRUE(deadline->body == R"({"count":"100"})" || deadline->body == R"({"count":"99"})")
      << deadline->body;
  auto bad_timeout = client_->Get("/v1/shelves/s/things/deadline", {{"grpc-timeout", "soon"}});
  ASSERT_TRUE(bad_timeout);
  EXPECT_EQ(bad_timeout->status, 400);
}

TEST_F(GatewayServerTest, ResourceExhaustedCarriesRetryAfter) {
  auto busy = client_->Get("/v1/shelves/s/things/busy");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 429);
  EXPECT_EQ(busy->get_header_value("Retry-After"), "7");
  EXPECT_NE(busy->body.find("google.rpc.RetryInfo"), std::string::npos) << busy->body;
}

TEST_F(GatewayServerTest, BadInputIsA4xxWithAStatusBody) {
  struct Bad {
    std::string method, path, body;
    int want;
  };
  const std::string huge = absl::StrCat("{\"displayName\":\"", std::string(100 * 1024, 'x'), "\"}");
  const std::vector<Bad> cases = {
      {"POST", "/v1/shelves/s/things", R"({"displayName":)", 400},              // malformed JSON
      {"POST", "/v1/shelves/s/things", R"({"colour":"red"})", 400},             // unknown field
      {"POST", "/v1/shelves/s/things", R"({"count":"many"})", 400},             // wrong type
      {"POST", "/v1/shelves/s/things", R"({"displayName":["a"]})", 400},        // wrong type
      {"POST", "/v1/shelves/s/things", "{\"displayName\":\"\xC3\x28\"}", 400},  // invalid UTF-8
      {"POST", "/v1/shelves/s/things", huge, 413},                              // huge body
      {"GET", "/v1/shelves/s/cups/x", "", 404},                                 // path off-template
      {"GET", "/v1/shelves/s/things/a/b", "", 404},
      {"GET", "/v1/shelves/s/things/%zz", "", 404},
      {"GET", "/nowhere", "", 404},
      {"PUT", "/v1/shelves/s/things/t1", "{}", 400},  // wrong method
      {"GET", "/v1/shelves/s/things?page_size=ten", "", 400},
      {"GET", "/v1/shelves/s/things?page_token=%FF", "", 400},
      {"GET", "/v1/shelves/s/things?nope=1", "", 400},
      {"POST", "/v1/shelves/s/things", R"({"kind":"KIND_BOOK"})", 400},  // service refuses
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    httplib::Request req;
    req.method = c.method;
    req.path = c.path;
    req.body = c.body;
    req.set_header("Content-Type", "application/json");
    auto result = client_->send(req);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, c.want) << result->body;
    StatusOf(result);
  }
}

}  // namespace
}  // namespace dorset::gateway
