// Test certificates made with the openssl command line: a CA, a server certificate for
// localhost/127.0.0.1 and a client certificate with a chosen common name, all in `dir`
// (ca.pem, server.pem, server.key, client.pem, client.key).
#ifndef DORSET_RUNTIME_TESTING_CERTIFICATES_H_
#define DORSET_RUNTIME_TESTING_CERTIFICATES_H_

#include <string>

#include "absl/status/status.h"

namespace dorset::testing {

absl::Status MakeTestCertificates(const std::string& dir, const std::string& client_cn);

// Issues another client certificate (client.pem/client.key, replacing the old) from the CA
// already in `dir`.
absl::Status MakeClientCertificate(const std::string& dir, const std::string& client_cn);

// The whole content of a file ("" when unreadable).
std::string ReadTestFile(const std::string& path);

}  // namespace dorset::testing

#endif  // DORSET_RUNTIME_TESTING_CERTIFICATES_H_
