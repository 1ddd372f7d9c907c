// The gateway over the real contracts (registry, finance, engagement): every google.api.http
// binding they carry parses and names real fields (else dorset-gateway would refuse to start),
// and every operation of the OpenAPI document has a description from the proto comments.
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "dorset/common/v1/audit.pb.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gateway/openapi.h"
#include "gateway/routes.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

std::string_view DorsetApiDescriptors();

namespace dorset::gateway {
namespace {

TEST(RealContractsTest, EveryBindingBuildsAndIsDocumented) {
  (void)dorset::registry::v1::GetPracticeRequest::descriptor();
  (void)dorset::finance::v1::GetPlanRequest::descriptor();
  (void)dorset::engagement::v1::Stakeholder::descriptor();
  (void)dorset::common::v1::ListAuditEventsRequest::descriptor();
  auto routes = RouteTable::Build(*google::protobuf::DescriptorPool::generated_pool(),
                                  {dorset::registry::v1::RegistryService::service_full_name(),
                                   dorset::finance::v1::FinanceService::service_full_name(),
                                   dorset::engagement::v1::EngagementService::service_full_name()},
                                  PerBackendServices());
  ASSERT_TRUE(routes.ok()) << routes.status();
  auto json = BuildOpenApi(*routes, DorsetApiDescriptors(), "Dorset Digital API");
  ASSERT_TRUE(json.ok()) << json.status();
  google::protobuf::Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &doc).ok());
  size_t operations = 0;
  for (const auto& [path, item] : doc.fields().at("paths").struct_value().fields()) {
    for (const auto& [method, op] : item.struct_value().fields()) {
      ++operations;
      const std::string& summary = op.struct_value().fields().at("summary").string_value();
      const std::string& id = op.struct_value().fields().at("operationId").string_value();
      // Without a comment the summary falls back to the bare method name.
      EXPECT_EQ(id.find("_" + summary), std::string::npos)
          << method << " " << path << ": no leading comment on the RPC";
    }
  }
  // One operation per route: templates of different collections have different OpenAPI paths
  // ("/v1/practices/{practice}", "/v1/localities/{locality}"), never a shared "/v1/{name}".
  EXPECT_EQ(operations, routes->routes().size());
  const auto& paths = doc.fields().at("paths").struct_value().fields();
  for (const char* path :
       {"/v1/practices/{practice}", "/v1/practices/{practice}:close", "/v1/localities/{locality}",
        "/v1/plans/{plan}/report", "/v1/plans/{plan}/programmes/{programme}/schemes/{scheme}"}) {
    EXPECT_TRUE(paths.count(path)) << path;
  }
  // OpenAPI 3.1 ("Path Templating"): every "{x}" of a path is a path parameter of each of its
  // operations and the other way round, and no two paths differ only in parameter names.
  std::map<std::string, std::string> shapes;
  for (const auto& [path, item] : paths) {
    std::set<std::string> in_path;
    std::string shape;
    for (size_t i = 0; i < path.size(); ++i) {
      if (path[i] != '{') {
        shape += path[i];
        continue;
      }
      const size_t close = path.find('}', i);
      ASSERT_NE(close, std::string::npos) << path;
      EXPECT_TRUE(in_path.insert(path.substr(i + 1, close - i - 1)).second) << path;
      shape += "{}";
      i = close;
    }
    auto [it, fresh] = shapes.emplace(shape, path);
    EXPECT_TRUE(fresh) << path << " and " << it->second << " differ only in parameter names";
    for (const auto& [method, op] : item.struct_value().fields()) {
      std::set<std::string> documented;
      for (const auto& p : op.struct_value().fields().at("parameters").list_value().values()) {
        const auto& fields = p.struct_value().fields();
        if (fields.at("in").string_value() != "path") continue;
        EXPECT_TRUE(documented.insert(fields.at("name").string_value()).second) << path;
        EXPECT_TRUE(fields.at("required").bool_value()) << path;
        EXPECT_FALSE(fields.at("description").string_value().empty()) << path;
      }
      EXPECT_EQ(documented, in_path) << method << " " << path;
    }
  }

  // Issue 14: every RPC of the three services has a binding (none is left gRPC-only), and the
  // embedded descriptor set carries the comments of every one of them.
  std::set<std::string> routed;
  for (const Route& route : routes->routes()) routed.insert(route.method->full_name());
  size_t methods = 0;
  for (const char* name : {dorset::registry::v1::RegistryService::service_full_name(),
                           dorset::finance::v1::FinanceService::service_full_name(),
                           dorset::engagement::v1::EngagementService::service_full_name()}) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      ++methods;
      EXPECT_TRUE(routed.count(service->method(i)->full_name()))
          << service->method(i)->full_name() << " has no google.api.http binding";
    }
  }
  // The audit trail every process serves about itself: one operation per process.
  for (const char* path :
       {"/v1/registry/auditEvents", "/v1/finance/auditEvents", "/v1/engagement/auditEvents"}) {
    ASSERT_TRUE(paths.count(path)) << path;
    const auto& op = paths.at(path).struct_value().fields().at("get").struct_value().fields();
    EXPECT_NE(op.at("description").string_value().find("gRPC: `/dorset.common.v1.AuditService/"),
              std::string::npos);
  }
  EXPECT_TRUE(routed.count("dorset.common.v1.AuditService.ListAuditEvents"));
  routed.erase("dorset.common.v1.AuditService.ListAuditEvents");
  EXPECT_EQ(routed.size(), methods);
  EXPECT_GE(methods, 66u);  // when this was written
}

}  // namespace
}  // namespace dorset::gateway
