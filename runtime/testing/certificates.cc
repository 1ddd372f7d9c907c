#include "runtime/testing/certificates.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace dorset::testing {
namespace {

absl::Status Run(const std::string& dir, const std::string& script) {
  const std::string command = absl::StrCat("cd '", dir, "' && (", script, ") >/dev/null 2>&1");
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("openssl failed in ", dir));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MakeClientCertificate(const std::string& dir, const std::string& client_cn) {
  return Run(dir, absl::StrCat("openssl req -newkey rsa:2048 -nodes -subj '/CN=", client_cn,
                               "' -keyout client.key -out client.csr && "
                               "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
                               "-CAcreateserial -days 2 -out client.pem"));
}

absl::Status MakeTestCertificates(const std::string& dir, const std::string& client_cn) {
  absl::Status status =
      Run(dir,
          "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=test CA' -keyout ca.key "
          "-out ca.pem && "
          "openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout server.key -out "
          "server.csr && "
          "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext && "
          "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
          "-extfile server.ext -out server.pem");
  if (!status.ok()) return status;
  return MakeClientCertificate(dir, client_cn);
}

std::string ReadTestFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace dorset::testing
