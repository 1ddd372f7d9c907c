// Golden tests of the transcoding rules: HTTP method + path + query + body -> the request
// message (shown as canonical JSON), or the 400 and the field it names; and responses -> JSON.
#include "gateway/transcoder.h"

#include <string>
#include <vector>

#include "dorset/gateway/testing/v1/shelf.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "runtime/status/grpc_status.h"

namespace dorset::gateway {
namespace {

constexpr char kService[] = "dorset.gateway.testing.v1.ShelfService";

const RouteTable& Table() {
  static const RouteTable* table = [] {
    auto built = RouteTable::Build(*google::protobuf::DescriptorPool::generated_pool(), {kService});
    EXPECT_TRUE(built.ok()) << built.status();
    return new RouteTable(*std::move(built));
  }();
  return *table;
}

struct Case {
  std::string http_method;
  std::string path;
  QueryParams query;
  std::string body;
  std::string want_method;  // gRPC method name
  std::string want;         // request as JSON, or "400 <field>" for a refusal
};

// The field the first BadRequest violation names, or "" when there is none.
std::string ViolationField(const absl::Status& status) {
  google::rpc::Status details = runtime::DecodeDetails(runtime::ToGrpcStatus(status));
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&bad) && bad.field_violations_size() > 0) {
      return bad.field_violations(0).field();
    }
  }
  return "";
}

TEST(TranscoderTest, GoldenRequests) {
  const std::vector<Case> cases = {
      {"GET", "/v1/shelves/s1/things/t1", {}, "", "GetThing", R"({"name":"shelves/s1/things/t1"})"},
      {"GET",
       "/v1/shelves/s1/things",
       {{"pageSize", "10"},
        {"page_token", "abc"},
        {"kinds", "KIND_BOOK"},
        {"kinds", "2"},
        {"options.limit", "5"},
        {"options.label", "red"},
        {"createdAfter", "2024-04-01T00:00:00Z"},
        {"archived", "true"},
        {"cursor", "AQID"},
        {"min_ratio", "0.5"},
        {"minCount", "18446744073709551615"},
        {"include_hidden", "false"}},
       "",
       "ListThings",
       R"({"parent":"shelves/s1","pageSize":10,"pageToken":"abc","kinds":["KIND_BOOK","KIND_BOX"],)"
       R"("options":{"limit":5,"label":"red"},"createdAfter":"2024-04-01T00:00:00Z","archived":true,)"
       R"("cursor":"AQID","minRatio":0.5,"minCount":"18446744073709551615"})"},
      {"POST",
       "/v1/shelves/s1/things",
       {{"thing_id", "t9"}},
       R"({"displayName":"Atlas","kind":"KIND_BOOK","count":"3"})",
       "CreateThing",
       R"({"parent":"shelves/s1","thing":{"displayName":"Atlas","kind":"KIND_BOOK","count":"3"},"thingId":"t9"})"},
      {"PATCH",
       "/v1/shelves/s1/things/t1",
       {{"update_mask", "displayName,labels"}},
       R"({"displayName":"B","etag":"W/\"3\""})",
       "UpdateThing",
       R"({"thing":{"name":"shelves/s1/things/t1","displayName":"B","etag":"W/\"3\""},"updateMask":"displayName,labels"})"},
      {"DELETE",
       "/v1/shelves/s1/things/t1",
       {{"etag", "W/\"3\""}},
       "",
       "DeleteThing",
       R"({"name":"shelves/s1/things/t1","etag":"W/\"3\""})"},
      {"POST",
       "/v1/shelves/s1/things/t1:archive",
       {},
       R"({"reason":"old"})",
       "ArchiveThing",
       R"({"name":"shelves/s1/things/t1","reason":"old"})"},
      {"POST",
       "/v1/shelves/s1/things/t1:archive",
       {},
       "",
       "ArchiveThing",
       R"({"name":"shelves/s1/things/t1"})"},
      {"POST",
       "/v1/shelves/s1/things/t1:archive",
       {},
       R"({"name":"shelves/s1/things/t1","reason":"x"})",
       "ArchiveThing",
       R"({"name":"shelves/s1/things/t1","reason":"x"})"},
      {"GET", "/v1/files/a/b%20c/d.txt", {}, "", "GetFile", R"({"path":"a/b c/d.txt"})"},
      {"GET", "/v1/echo/hello%2Fworld", {}, "", "Echo", R"({"text":"hello/world"})"},
      {"POST", "/v1/echo", {}, R"({"text":"hi"})", "Echo", R"({"text":"hi"})"},
      {"GET",
       "/v1/shelves/s1/things:watch",
       {{"page_size", "2"}},
       "",
       "WatchThings",
       R"({"parent":"shelves/s1","pageSize":2})"},
      // Refusals: each names the field.
      {"POST", "/v1/shelves/s1/things", {}, R"({"displayName":)", "CreateThing", "400 thing"},
      {"POST", "/v1/shelves/s1/things", {}, R"({"colour":"red"})", "CreateThing", "400 thing"},
      {"POST", "/v1/shelves/s1/things", {}, R"({"count":"many"})", "CreateThing", "400 thing"},
      {"POST", "/v1/shelves/s1/things", {}, R"({"kind":"KIND_SPOON"})", "CreateThing", "400 thing"},
      {"POST",
       "/v1/shelves/s1/things",
       {},
       "{\"displayName\":\"\xC3\x28\"}",
       "CreateThing",
       "400 body"},
      {"POST", "/v1/shelves/s1/things:archive", {}, "[1,2]", "", "404 "},
      {"POST",
       "/v1/shelves/s1/things/t1:archive",
       {},
       R"({"name":"shelves/s1/things/t2"})",
       "ArchiveThing",
       "400 name"},
      {"POST",
       "/v1/shelves/s1/things/t1:archive",
       {{"reason", "x"}},
       "",
       "ArchiveThing",
       "400 reason"},
      {"GET", "/v1/shelves/s1/things", {{"page_size", "ten"}}, "", "ListThings", "400 page_size"},
      {"GET",
       "/v1/shelves/s1/things",
       {{"page_size", "99999999999"}},
       "",
       "ListThings",
       "400 page_size"},
      {"GET", "/v1/shelves/s1/things", {{"kinds", "KIND_SPOON"}}, "", "ListThings", "400 kinds"},
      {"GET", "/v1/shelves/s1/things", {{"nope", "1"}}, "", "ListThings", "400 nope"},
      {"GET",
       "/v1/shelves/s1/things",
       {{"options.nope", "1"}},
       "",
       "ListThings",
       "400 options.nope"},
      {"GET", "/v1/shelves/s1/things", {{"options", "1"}}, "", "ListThings", "400 options"},
      {"GET", "/v1/shelves/s1/things", {{"parent", "shelves/s2"}}, "", "ListThings", "400 parent"},
      {"GET",
       "/v1/shelves/s1/things",
       {{"include_hidden", "yes"}},
       "",
       "ListThings",
       "400 include_hidden"},
      {"GET",
       "/v1/shelves/s1/things",
       {{"createdAfter", "yesterday"}},
       "",
       "ListThings",
       "400 created_after"},
      {"GET",
       "/v1/shelves/s1/things",
       {{"page_token", "\xFF"}},
       "",
       "ListThings",
       "400 page_token"},
      {"GET", "/v1/shelves/s1/things", {}, R"({"pageSize":1})", "ListThings", "400 body"},
      {"PATCH",
       "/v1/shelves/s1/things/t1",
       {{"thing.display_name", "x"}},
       "{}",
       "UpdateThing",
       "400 thing.display_name"},
      {"GET", "/v1/shelves/s1/things/t1/x", {}, "", "", "404 "},
      {"GET", "/v1/shelves/s1/cups/t1", {}, "", "", "404 "},
      {"GET", "/v1/shelves/s1/things/t%zz", {}, "", "", "404 "},
      {"PUT", "/v1/shelves/s1/things/t1", {}, "", "", "400 "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.http_method + " " + c.path + " " + c.body);
    absl::StatusOr<RouteMatch> match = Table().Find(c.http_method, c.path);
    if (!match.ok()) {
      EXPECT_EQ(c.want, absl::StrCat(
                            match.status().code() == absl::StatusCode::kNotFound ? 404 : 400, " "));
      continue;
    }
    EXPECT_EQ(match->route->method->name(), c.want_method);
    absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
        BuildRequest(*match, c.query, c.body);
    if (!request.ok()) {
      EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument) << request.status();
      EXPECT_EQ(c.want, "400 " + ViolationField(request.status())) << request.status();
      continue;
    }
    absl::StatusOr<std::string> json = MessageToJson(**request);
    ASSERT_TRUE(json.ok());
    EXPECT_EQ(*json, c.want);
  }
}

TEST(TranscoderTest, RoutesOnlyAnnotatedMethodsAndEveryBinding) {
  std::vector<std::string> seen;
  for (const Route& route : Table().routes()) {
    seen.push_back(route.http_method + " " + route.path.text() + " " + route.GrpcPath());
  }
  EXPECT_EQ(seen.size(), 11u);  // 10 annotated methods, Echo twice, Hidden never
  for (const std::string& s : seen) EXPECT_EQ(s.find("Hidden"), std::string::npos) << s;
}

TEST(TranscoderTest, ClientStreamBodyIsNdjson) {
  absl::StatusOr<RouteMatch> match = Table().Find("POST", "/v1/shelves/s1/things:import");
  ASSERT_TRUE(match.ok());
  auto requests = BuildStreamRequests(
      *match, {}, "{\"thing\":{\"displayName\":\"a\"}}\n\n  \r\n{\"thing\":{\"count\":\"2\"}}");
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 2u);
  dorset::gateway::testing::v1::ImportThingRequest second;
  ASSERT_TRUE(second.ParseFromString((*requests)[1]));
  EXPECT_EQ(second.parent(), "shelves/s1");
  EXPECT_EQ(second.thing().count(), 2);
  auto bad = BuildStreamRequests(*match, {}, "{}\n{\"thing\":{\"colour\":1}}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), absl::string_view::npos) << bad.status();
  EXPECT_EQ(ViolationField(bad.status()), "body");
  auto none = BuildStreamRequests(*match, {}, "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(TranscoderTest, ResponseBodySelectsOneField) {
  absl::StatusOr<RouteMatch> match = Table().Find("GET", "/v1/echo/x");
  ASSERT_TRUE(match.ok());
  dorset::gateway::testing::v1::EchoResponse response;
  response.set_text("a \"quoted\" text");
  response.set_length(15);
  EXPECT_EQ(*ResponseToJson(*match->route, response), R"("a \"quoted\" text")");
  dorset::gateway::testing::v1::Thing thing;
  thing.set_name("shelves/a/things/b");
  thing.set_count(3);
  thing.set_kind(dorset::gateway::testing::v1::KIND_BOX);
  absl::StatusOr<RouteMatch> get = Table().Find("GET", "/v1/shelves/a/things/b");
  EXPECT_EQ(*ResponseToJson(*get->route, thing),
            R"({"name":"shelves/a/things/b","kind":"KIND_BOX","count":"3"})");
}

TEST(TranscoderTest, RefusesBadBindingsAtStart) {
  EXPECT_FALSE(RouteTable::Build(*google::protobuf::DescriptorPool::generated_pool(),
                                 {"dorset.gateway.testing.v1.NoSuchService"})
                   .ok());
}

}  // namespace
}  // namespace dorset::gateway
