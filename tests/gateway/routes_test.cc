// The route table's per-process services: the audit trail every process serves about itself is
// routed once per backend under the process's name, to that backend, and never unscoped.
#include "gateway/routes.h"

#include <string>

#include "dorset/common/v1/audit.pb.h"
#include "dorset/gateway/testing/v1/shelf.pb.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace dorset::gateway {
namespace {

constexpr char kShelf[] = "dorset.gateway.testing.v1.ShelfService";
constexpr char kAudit[] = "dorset.common.v1.AuditService";

TEST(RoutesTest, PerBackendServicesAreScopedToEachProcess) {
  (void)dorset::common::v1::ListAuditEventsRequest::descriptor();
  (void)dorset::gateway::testing::v1::Thing::descriptor();
  EXPECT_EQ(BackendScope("dorset.registry.v1.RegistryService"), "registry");
  EXPECT_EQ(BackendScope(kShelf), "gateway");
  ASSERT_EQ(PerBackendServices(), std::vector<std::string>{kAudit});
  auto routes = RouteTable::Build(*google::protobuf::DescriptorPool::generated_pool(), {kShelf},
                                  PerBackendServices());
  ASSERT_TRUE(routes.ok()) << routes.status();
  auto audit = routes->Find("GET", "/v1/gateway/auditEvents");
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_EQ(audit->route->GrpcPath(), "/dorset.common.v1.AuditService/ListAuditEvents");
  EXPECT_EQ(audit->route->backend, kShelf);
  EXPECT_EQ(audit->route->scope, "gateway");
  EXPECT_EQ(audit->route->path.OpenApiPath(), "/v1/gateway/auditEvents");
  // The binding as written would not say whose trail: it is not routed.
  EXPECT_EQ(routes->Find("GET", "/v1/auditEvents").status().code(), absl::StatusCode::kNotFound);
  // The service's own methods go to their own service, unscoped.
  auto thing = routes->Find("GET", "/v1/shelves/s/things/t");
  ASSERT_TRUE(thing.ok());
  EXPECT_EQ(thing->route->backend, kShelf);
  EXPECT_EQ(thing->route->scope, "");
  // Without per-process services there is no audit route at all.
  auto plain = RouteTable::Build(*google::protobuf::DescriptorPool::generated_pool(), {kShelf});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->Find("GET", "/v1/gateway/auditEvents").ok());
}

}  // namespace
}  // namespace dorset::gateway
