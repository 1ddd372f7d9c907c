// The generated OpenAPI document: served at /openapi.json, descriptions from the proto
// comments, and every operation it lists callable through the gateway as the document says.
#include "gateway/openapi.h"

#include <httplib.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "dorset/gateway/testing/v1/shelf.grpc.pb.h"
#include "gateway/gateway_server.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

std::string_view GatewayTestingDescriptors();

namespace dorset::gateway {
namespace {

using google::protobuf::Struct;

constexpr char kService[] = "dorset.gateway.testing.v1.ShelfService";

TEST(OpenApiTest, DescriptionsComeFromProtoComments) {
  auto routes = RouteTable::Build(*google::protobuf::DescriptorPool::generated_pool(), {kService});
  ASSERT_TRUE(routes.ok());
  auto json = BuildOpenApi(*routes, GatewayTestingDescriptors(), "Shelf API");
  ASSERT_TRUE(json.ok()) << json.status();
  Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &doc).ok());
  EXPECT_EQ(doc.fields().at("openapi").string_value(), "3.1.0");
  const Struct& paths = doc.fields().at("paths").struct_value();
  const Struct& archive = paths.fields()
                              .at("/v1/shelves/{shelf}/things/{thing}:archive")
                              .struct_value()
                              .fields()
                              .at("post")
                              .struct_value();
  EXPECT_EQ(archive.fields().at("summary").string_value(), "Archives a thing (a custom method).");
  // Each "*" of {name=shelves/*/things/*} is a path parameter of its own, documented.
  std::vector<std::string> names;
  for (const auto& p : archive.fields().at("parameters").list_value().values()) {
    const auto& fields = p.struct_value().fields();
    if (fields.at("in").string_value() != "path") continue;
    names.push_back(fields.at("name").string_value());
    EXPECT_TRUE(fields.at("required").bool_value());
    EXPECT_NE(fields.at("description").string_value().find("`name` of the request, which is "),
              std::string::npos)
        << fields.at("description").string_value();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"shelf", "thing"}));
  const Struct& thing = doc.fields()
                            .at("components")
                            .struct_value()
                            .fields()
                            .at("schemas")
                            .struct_value()
                            .fields()
                            .at("dorset.gateway.testing.v1.Thing")
                            .struct_value();
  EXPECT_EQ(thing.fields().at("description").string_value(), "A thing on a shelf.");
  EXPECT_EQ(thing.fields()
                .at("properties")
                .struct_value()
                .fields()
                .at("displayName")
                .struct_value()
                .fields()
                .at("description")
                .string_value(),
            "What people call it.");
  // Hidden has no binding, so no operation.
  EXPECT_EQ(json->find("Hidden"), std::string::npos);
}

class ShelfStub final : public dorset::gateway::testing::v1::ShelfService::Service {
 public:
  int calls = 0;
#define DORSET_ANSWER(Method, Req, Resp)                                              \
  grpc::Status Method(grpc::ServerContext*, const dorset::gateway::testing::v1::Req*, \
                      dorset::gateway::testing::v1::Resp*) override {                 \
    ++calls;                                                                          \
    return grpc::Status::OK;                                                          \
  }
  DORSET_ANSWER(GetThing, GetThingRequest, Thing)
  DORSET_ANSWER(ListThings, ListThingsRequest, ListThingsResponse)
  DORSET_ANSWER(CreateThing, CreateThingRequest, Thing)
  DORSET_ANSWER(UpdateThing, UpdateThingRequest, Thing)
  DORSET_ANSWER(DeleteThing, DeleteThingRequest, DeleteThingResponse)
  DORSET_ANSWER(ArchiveThing, ArchiveThingRequest, Thing)
  DORSET_ANSWER(GetFile, GetFileRequest, File)
  DORSET_ANSWER(Echo, EchoRequest, EchoResponse)
#undef DORSET_ANSWER
  grpc::Status ImportThings(
      grpc::ServerContext*,
      grpc::ServerReader<dorset::gateway::testing::v1::ImportThingRequest>* reader,
      dorset::gateway::testing::v1::ListThingsResponse*) override {
    dorset::gateway::testing::v1::ImportThingRequest request;
    while (reader->Read(&request)) {
    }
    ++calls;
    return grpc::Status::OK;
  }
  grpc::Status WatchThings(grpc::ServerContext*,
                           const dorset::gateway::testing::v1::ListThingsRequest*,
                           grpc::ServerWriter<dorset::gateway::testing::v1::Thing>*) override {
    ++calls;
    return grpc::Status::OK;
  }
};

TEST(OpenApiTest, EveryListedOperationIsCallableFromTheDocumentAlone) {
  ShelfStub stub;
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port);
  builder.RegisterService(&stub);
  auto grpc_server = builder.BuildAndStart();
  auto routes = RouteTable::Build(*google::protobuf::DescriptorPool::generated_pool(), {kService});
  ASSERT_TRUE(routes.ok());
  GatewayOptions options;
  options.backends[kService] = grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port),
                                                   grpc::InsecureChannelCredentials());
  options.openapi_json = *BuildOpenApi(*routes, GatewayTestingDescriptors(), "Shelf API");
  auto gateway = GatewayServer::Start(std::move(options));
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  httplib::Client client("127.0.0.1", (*gateway)->port());

  auto served = client.Get("/openapi.json");
  ASSERT_TRUE(served);
  ASSERT_EQ(served->status, 200);
  Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(served->body, &doc).ok());
  for (const char* probe : {"/livez", "/readyz"}) {
    auto answer = client.Get(probe);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 200) << probe;
  }
  auto page = client.Get("/docs");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("fetch(\"/openapi.json\")"), std::string::npos);
  int operations = 0;
  for (const auto& [path, item] : doc.fields().at("paths").struct_value().fields()) {
    for (const auto& [method, op] : item.struct_value().fields()) {
      // Fill each path parameter with an example of the shape the document gives it.
      std::string url = path;
      for (const auto& p : op.struct_value().fields().at("parameters").list_value().values()) {
        const auto& fields = p.struct_value().fields();
        if (fields.at("in").string_value() != "path") continue;
        const std::string& example = fields.at("example").string_value();
        EXPECT_NE(fields.at("description").string_value().find("(e.g. `" + example + "`)"),
                  std::string::npos);
        url = absl::StrReplaceAll(url, {{"{" + fields.at("name").string_value() + "}", example}});
      }
      httplib::Request req;
      req.method = absl::AsciiStrToUpper(method);
      req.path = url;
      if (op.struct_value().fields().count("requestBody")) {
        req.body = "{}";
        req.set_header("Content-Type", "application/json");
      }
      SCOPED_TRACE(req.method + " " + url);
      auto result = client.send(req);
      ASSERT_TRUE(result);
      EXPECT_EQ(result->status, 200) << result->body;
      ++operations;
    }
  }
  EXPECT_EQ(operations, 11);
  EXPECT_EQ(stub.calls, 11);
  (*gateway)->Stop();
  grpc_server->Shutdown();
}

}  // namespace
}  // namespace dorset::gateway
