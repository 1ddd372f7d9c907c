#include "runtime/storage/database_url.h"

#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"

namespace dorset::runtime::storage {
namespace {

absl::Status Bad(std::string_view why) { return InvalidArgument("database", why); }

// The libpq URI parameters a site may set. Anything else (a typo, or `password`) is refused
// here rather than at the first connect.
const std::set<std::string, std::less<>>& KnownParameters() {
  static const auto* known = new std::set<std::string, std::less<>>{"sslmode",
                                                                    "sslrootcert",
                                                                    "sslcert",
                                                                    "sslkey",
                                                                    "sslcrl",
                                                                    "sslcompression",
                                                                    "connect_timeout",
                                                                    "application_name",
                                                                    "target_session_attrs",
                                                                    "options",
                                                                    "host",
                                                                    "hostaddr",
                                                                    "keepalives",
                                                                    "keepalives_idle",
                                                                    "keepalives_interval",
                                                                    "keepalives_count",
                                                                    "tcp_user_timeout",
                                                                    "gssencmode",
                                                                    "channel_binding"};
  return *known;
}

absl::Status ParsePostgres(std::string_view rest, DatabaseUrl& out) {
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    out.dbname = std::string(rest.substr(slash + 1));
    if (out.dbname.find('/') != std::string::npos) return Bad("the database name has a '/'");
  }
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    if (userinfo.find(':') != std::string_view::npos) {
      return Bad("the URI holds a password: put it in the file named by database_password_file");
    }
    out.user = std::string(userinfo);
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return Bad("unclosed '[' in the host");
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty() && port.front() != ':') return Bad("expected ':port' after ']'");
    if (!port.empty()) port.remove_prefix(1);
  } else if (size_t colon = host.find(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.find(',') != std::string_view::npos) return Bad("give one host");
  out.host = std::string(host);
  if (!port.empty() &&
      (!absl::SimpleAtoi(ToAbsl(port), &out.port) || out.port < 1 || out.port > 65535)) {
    return Bad(absl::StrCat("bad port \"", ToAbsl(port), "\""));
  }
  if (!query.empty()) {
    for (absl::string_view pair : absl::StrSplit(ToAbsl(query), '&')) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, '=');
      if (kv.first == "password") {
        return Bad("the URI holds a password: put it in the file named by database_password_file");
      }
      if (KnownParameters().count(ToStd(kv.first)) == 0) {
        return Bad(absl::StrCat("unknown parameter \"", kv.first, "\""));
      }
      if (kv.first == "sslmode" && kv.second != "disable" && kv.second != "allow" &&
          kv.second != "prefer" && kv.second != "require" && kv.second != "verify-ca" &&
          kv.second != "verify-full") {
        return Bad(absl::StrCat("bad sslmode \"", kv.second,
                                "\" (disable, allow, prefer, require, verify-ca, verify-full)"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string DatabaseUrl::Redacted() const {
  if (kind == Kind::kSqlite) return "sqlite://" + sqlite_path;
  return postgres_uri + " (password from file, if any)";  // the URI never holds one
}

absl::StatusOr<DatabaseUrl> ParseDatabaseUrl(std::string_view url, std::string_view data_dir,
                                             std::string_view service) {
  DatabaseUrl out;
  if (url.empty()) {
    out.sqlite_path = absl::StrCat(ToAbsl(data_dir), "/", ToAbsl(service), ".db");
    return out;
  }
  if (absl::StartsWith(ToAbsl(url), "sqlite://")) {
    std::string_view path = url.substr(9);
    if (path.empty() || path.front() != '/') {
      return Bad("expected sqlite:///absolute/path (three slashes)");
    }
    if (path.back() == '/' || path.find('?') != std::string_view::npos) {
      return Bad("expected sqlite:///absolute/path/file.db");
    }
    out.sqlite_path = std::string(path);
    return out;
  }
  for (std::string_view scheme : {"postgres://", "postgresql://"}) {
    if (absl::StartsWith(ToAbsl(url), ToAbsl(scheme))) {
      out.kind = DatabaseUrl::Kind::kPostgres;
      if (absl::Status s = ParsePostgres(url.substr(scheme.size()), out); !s.ok()) return s;
      out.postgres_uri = std::string(url);
      return out;
    }
  }
  // Name only the scheme: the rest might hold a secret.
  const size_t colon = url.find(':');
  return Bad(
      absl::StrCat("expected sqlite:///path or postgres://user@host:port/db, got a value ",
                   colon == std::string_view::npos
                       ? std::string("without a scheme")
                       : absl::StrCat("with scheme \"", ToAbsl(url.substr(0, colon)), "\"")));
}

absl::StatusOr<std::string> ReadPasswordFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return InvalidArgument("database_password_file", absl::StrCat("cannot read ", path));
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    return InvalidArgument("database_password_file", absl::StrCat(path, " is empty"));
  }
  return line;
}

}  // namespace dorset::runtime::storage
