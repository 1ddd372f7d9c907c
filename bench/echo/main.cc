// dorset-echo: the echo baseline server (same runtime as the services, no work per call).
#include "bench/echo/echo_module.h"
#include "runtime/server/service_host.h"

int main(int argc, char** argv) {
  return dorset::runtime::RunServerMain(
      argc, argv, {"echo", "127.0.0.1:50059", "127.0.0.1:8089"},
      [] { return std::make_unique<dorset::bench::EchoModule>(); });
}
