#include "runtime/testing/test_host.h"

#include "absl/strings/str_cat.h"
#include "runtime/auth/token_store.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::testing {

runtime::ServerConfig TestServerConfig(const std::string& service, const std::string& data_dir) {
  runtime::ServerConfig config;
  config.service = service;
  config.grpc_listen = "127.0.0.1:0";
  config.ops_listen = "127.0.0.1:0";
  config.data_dir = data_dir;
  config.plaintext = true;
  config.auth = runtime::AuthMode::kNone;
  config.drain_seconds = 0;
  config.shutdown_grace_seconds = 5;
  config.rate_limit_per_second = 0;
  return config;
}

std::shared_ptr<grpc::Channel> LocalChannel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

void WriteTokensFile(const std::string& path, const std::vector<TestToken>& tokens) {
  std::string text = "# test tokens\n";
  for (const TestToken& t : tokens) {
    absl::StrAppend(&text, runtime::Sha256Hex(t.token), " ", t.principal, " ", t.roles, "\n");
  }
  WriteFile(path, text);
}

void AddBearer(grpc::ClientContext& context, const std::string& token) {
  context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

}  // namespace dorset::testing
