// Helpers for tests that run real servers in-process: a configuration on free ports with a
// temporary store, channels to them, and bearer tokens files.
#ifndef DORSET_RUNTIME_TESTING_TEST_HOST_H_
#define DORSET_RUNTIME_TESTING_TEST_HOST_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "runtime/config/config.h"

namespace dorset::testing {

// Plaintext, 127.0.0.1:0 for gRPC and ops, data in `data_dir`, auth=none (every caller is an
// admin), no drain, rate limit off. Tests that check security switch auth to tokens.
runtime::ServerConfig TestServerConfig(const std::string& service, const std::string& data_dir);

// An insecure channel to 127.0.0.1:port.
std::shared_ptr<grpc::Channel> LocalChannel(int port);

struct TestToken {
  std::string token;  // the secret the client sends
  std::string principal;
  std::string roles;  // comma-separated
};

// Writes a tokens file holding the hashes of `tokens`.
void WriteTokensFile(const std::string& path, const std::vector<TestToken>& tokens);

// Adds "authorization: Bearer <token>" to a client context.
void AddBearer(grpc::ClientContext& context, const std::string& token);

}  // namespace dorset::testing

#endif  // DORSET_RUNTIME_TESTING_TEST_HOST_H_
