// A status echoing a 100 KB name crosses a real channel as NOT_FOUND (issue 10, item 18): the
// edge (ToGrpcStatus) cuts messages and details to fit the client's metadata limit.
#include "absl/synchronization/notification.h"
#include "google/rpc/error_details.pb.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "runtime/status/errors.h"
#include "runtime/status/grpc_status.h"

namespace dorset::runtime {
namespace {

// Answers every call with NOT_FOUND for the name the client sent as its request bytes, as a
// service's Get does for a name it does not know.
class EchoNotFound final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    return new Reactor();
  }

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    Reactor() { StartRead(&request_); }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
        return;
      }
      std::vector<grpc::Slice> slices;
      (void)request_.Dump(&slices);
      std::string name;
      for (const auto& s : slices) name.append(reinterpret_cast<const char*>(s.begin()), s.size());
      Finish(ToGrpcStatus(NotFound("Plan", name)));
    }
    void OnDone() override { delete this; }

   private:
    grpc::ByteBuffer request_;
  };
};

TEST(LongStatusTest, NotFoundForA100KbNameReachesTheClientAsNotFound) {
  EchoNotFound service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());  // default limits
  grpc::GenericStub stub(channel);
  const std::string name = "plans/" + std::string(100 * 1024, 'x');
  grpc::Slice slice(name);
  const grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/dorset.test.Plans/GetPlan", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_NE(status.error_message().find("plans/xxxx"), std::string::npos);
  EXPECT_LE(status.error_message().size(), 512u);
  google::rpc::ResourceInfo info;
  bool has_info = false;
  const google::rpc::Status details = DecodeDetails(status);
  for (const auto& any : details.details()) has_info |= any.UnpackTo(&info);
  EXPECT_TRUE(has_info);
  server->Shutdown();
}

}  // namespace
}  // namespace dorset::runtime
