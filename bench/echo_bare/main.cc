// dorset-echo-bare: the floor of a unary call on this machine. The same echo.proto on gRPC's
// callback API with nothing of the runtime: no interceptor, no access log, no metrics, no gate,
// no health or reflection service. bench/echo_floor.sh divides dorset-echo (the runtime's echo)
// by it; bench/costs.sh counts its instructions per call.
//
//   dorset-echo-bare --grpc_listen=127.0.0.1:50059
//
// Stops on SIGTERM or SIGINT (so a profiler running it writes its output).
#include <signal.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "dorset/bench/v1/echo.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace {

class BareEcho final : public dorset::bench::v1::EchoService::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const dorset::bench::v1::EchoRequest* request,
                                 dorset::bench::v1::EchoResponse* response) override {
    response->set_message(request->message());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:50059";
  int max_message_bytes = 4 * 1024 * 1024;  // the runtime's default max_message_bytes
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--grpc_listen=", 0) == 0) {
      listen = arg.substr(strlen("--grpc_listen="));
    } else {
      std::cerr << "dorset-echo-bare: unknown flag " << arg << " (only --grpc_listen=host:port)\n";
      return 2;
    }
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
#ifdef NDEBUG
  // As RunServerMain does: Debian's Abseil has absl::Mutex's deadlock detection on, which costs
  // gRPC's own locks too; the floor is measured without it, like the runtime's echo.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif

  grpc::EnableDefaultHealthCheckService(false);
  BareEcho service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(max_message_bytes);
  builder.SetMaxSendMessageSize(max_message_bytes);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "dorset-echo-bare: cannot listen on " << listen << "\n";
    return 1;
  }
  std::cout << "dorset-echo-bare serving on port " << port << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->Shutdown();
  server->Wait();
  return 0;
}
