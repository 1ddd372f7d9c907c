// Every repeated field of every unary request of the three APIs is capped (runtime/api/
// repeated_limits.h): a request with one field over its cap is refused with INVALID_ARGUMENT
// naming that field, before any per-item work. The test walks the services' descriptors, so a
// repeated field added later is covered without editing it. And the attack that found it: a
// request naming 200,000 invalid localities, which used to cost seconds of server time.
#include <future>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "runtime/api/repeated_limits.h"
#include "runtime/server/service_host.h"
#include "runtime/status/grpc_status.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/engagement/engagement_module.h"
#include "services/finance/finance_module.h"
#include "services/registry/registry_module.h"

namespace dorset {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::string ViolationField(const grpc::Status& status) {
  const google::rpc::Status details = runtime::DecodeDetails(status);
  for (const auto& any : details.details()) {
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&bad) && bad.field_violations_size() > 0) {
      return bad.field_violations(0).field();
    }
  }
  return "";
}

// Paths of the repeated fields reachable from `type` through singular message fields.
void RepeatedPaths(const Descriptor* type, const std::string& prefix, int depth,
                   std::vector<std::string>* out) {
  if (depth > 4) return;
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    const std::string path =
        prefix.empty() ? field->name() : absl::StrCat(prefix, ".", field->name());
    if (field->is_repeated()) {
      out->push_back(path);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      RepeatedPaths(field->message_type(), path, depth + 1, out);
    }
  }
}

// Adds `count` default items to the repeated field at `path`.
void Fill(Message& message, const std::string& path, int count) {
  Message* at = &message;
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const FieldDescriptor* f = at->GetDescriptor()->FindFieldByName(parts[i]);
    at = at->GetReflection()->MutableMessage(at, f);
  }
  const FieldDescriptor* f = at->GetDescriptor()->FindFieldByName(parts.back());
  const auto* r = at->GetReflection();
  for (int i = 0; i < count; ++i) {
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        r->AddString(at, f, absl::StrCat("x", i));
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->AddEnumValue(at, f, 1);
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        r->AddMessage(at, f);
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        r->AddInt32(at, f, 1);
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->AddInt64(at, f, 1);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->AddUInt32(at, f, 1);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->AddUInt64(at, f, 1);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->AddBool(at, f, true);
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->AddDouble(at, f, 1);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        r->AddFloat(at, f, 1);
        break;
    }
  }
}

grpc::Status Call(grpc::GenericStub& stub, const std::string& method, const Message& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer in(&slice, 1), out;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &in, &out,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

class RequestLimitsTest : public ::testing::Test {
 protected:
  std::unique_ptr<runtime::ServiceHost> Start(const std::string& name,
                                              std::unique_ptr<runtime::ServiceModule> module) {
    auto host = runtime::ServiceHost::Start(testing::TestServerConfig(name, dir_.File(name)),
                                            std::move(module));
    EXPECT_TRUE(host.ok()) << host.status();
    return *std::move(host);
  }

  // Sends, for every unary method and every repeated field of its request, one request with that
  // field one item over the default cap; returns how many were refused as they should be.
  int CheckEveryRepeatedField(const std::string& service_name, int port) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_name);
    EXPECT_NE(service, nullptr) << service_name;
    if (service == nullptr) return 0;
    grpc::GenericStub stub(testing::LocalChannel(port));
    google::protobuf::DynamicMessageFactory factory;
    int checked = 0;
    for (int m = 0; m < service->method_count(); ++m) {
      const auto* method = service->method(m);
      if (method->client_streaming() || method->server_streaming()) continue;
      std::vector<std::string> paths;
      RepeatedPaths(method->input_type(), "", 0, &paths);
      for (const std::string& path : paths) {
        std::unique_ptr<Message> request(factory.GetPrototype(method->input_type())->New());
        Fill(*request, path, runtime::kDefaultMaxRepeated + 1);
        const grpc::Status status =
            Call(stub, absl::StrCat("/", service_name, "/", method->name()), *request);
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
            << method->full_name() << " " << path << ": " << status.error_message();
        EXPECT_EQ(ViolationField(status), path)
            << method->full_name() << ": " << status.error_message();
        ++checked;
      }
    }
    return checked;
  }

  testing::TempDir dir_;
};

TEST_F(RequestLimitsTest, EveryRepeatedRequestFieldOfEveryServiceIsCapped) {
  auto registry = Start("registry", std::make_unique<registry::RegistryModule>());
  auto finance = Start("finance", std::make_unique<finance::FinanceModule>());
  auto engagement = Start("engagement", std::make_unique<engagement::EngagementModule>());
  const int registry_fields =
      CheckEveryRepeatedField("dorset.registry.v1.RegistryService", registry->grpc_port());
  const int finance_fields =
      CheckEveryRepeatedField("dorset.finance.v1.FinanceService", finance->grpc_port());
  const int engagement_fields =
      CheckEveryRepeatedField("dorset.engagement.v1.EngagementService", engagement->grpc_port());
  // The walk found the fields it is about (statuses, address lines, masks, targets, postings,
  // localities, themes, responses...).
  EXPECT_GE(registry_fields, 3);
  EXPECT_GE(finance_fields, 6);
  EXPECT_GE(engagement_fields, 8);
}

TEST_F(RequestLimitsTest, TwoHundredThousandLocalitiesAreRefusedUnread) {
  auto host = Start("engagement", std::make_unique<engagement::EngagementModule>());
  auto stub = engagement::v1::EngagementService::NewStub(testing::LocalChannel(host->grpc_port()));
  engagement::v1::CreateActivityRequest request;
  request.mutable_activity()->set_kind(engagement::v1::ACTIVITY_KIND_CONSULTATION);
  request.mutable_activity()->set_title("Many places");
  for (int i = 0; i < 200000; ++i) {
    request.mutable_activity()->add_localities(absl::StrCat("nowhere-", i));
  }
  grpc::ClientContext context;
  engagement::v1::Activity out;
  const grpc::Status status = stub->CreateActivity(&context, request, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolationField(status), "activity.localities");
  EXPECT_LT(status.error_message().size(), 200u) << "one violation, not one per locality";

  // The documented cap, not only the default: 101 localities are refused, 100 are read (this
  // server has no registry, so well-formed names are accepted).
  request.mutable_activity()->clear_localities();
  for (int i = 0; i < 101; ++i) {
    request.mutable_activity()->add_localities(absl::StrCat("localities/l", i));
  }
  grpc::ClientContext again;
  const grpc::Status over = stub->CreateActivity(&again, request, &out);
  EXPECT_EQ(ViolationField(over), "activity.localities");
  EXPECT_NE(over.error_message().find("at most 100"), std::string::npos) << over.error_message();
  request.mutable_activity()->mutable_localities()->RemoveLast();
  grpc::ClientContext within;
  const grpc::Status read = stub->CreateActivity(&within, request, &out);
  EXPECT_TRUE(read.ok()) << read.error_message();
  EXPECT_EQ(out.localities_size(), 100);
}

}  // namespace
}  // namespace dorset
