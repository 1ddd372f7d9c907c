#include "runtime/storage/postgres/listener.h"

#include <libpq-fe.h>
#include <poll.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace dorset::runtime::storage {

PostgresListener::PostgresListener(std::string uri, std::string password, std::string channel)
    : uri_(std::move(uri)), password_(std::move(password)), channel_(std::move(channel)) {}

PostgresListener::~PostgresListener() { Drop(); }

void PostgresListener::Drop() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

absl::Status PostgresListener::Connect() {
  for (char c : channel_) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return absl::InvalidArgumentError("listen channel must be an identifier");
    }
  }
  std::vector<const char*> keys = {"connect_timeout", "dbname"};
  std::vector<const char*> values = {"5", uri_.c_str()};
  if (!password_.empty()) {
    keys.push_back("password");
    values.push_back(password_.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn_ == nullptr) return absl::ResourceExhaustedError("libpq could not allocate");
  if (PQstatus(conn_) != CONNECTION_OK) {
    absl::Status error = absl::UnavailableError(
        absl::StrCat("listen: ", absl::StripAsciiWhitespace(PQerrorMessage(conn_))));
    Drop();
    return error;
  }
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  PGresult* result = PQexec(conn_, absl::StrCat("LISTEN ", channel_).c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  if (!ok) {
    absl::Status error = absl::UnavailableError(
        absl::StrCat("listen: ", absl::StripAsciiWhitespace(PQerrorMessage(conn_))));
    Drop();
    return error;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> PostgresListener::Wait(absl::Duration timeout,
                                            std::vector<std::string>* payloads) {
  if (payloads != nullptr) payloads->clear();
  if (conn_ == nullptr) {
    if (absl::Status s = Connect(); !s.ok()) return s;
    return true;  // anything committed while we were not listening must be looked for
  }
  auto drain = [this, payloads] {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_)) {
      any = true;
      if (payloads != nullptr) payloads->emplace_back(n->extra != nullptr ? n->extra : "");
      PQfreemem(n);
    }
    return any;
  };
  if (drain()) return true;
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  const int ready = poll(&fd, 1, ms);
  if (ready < 0) return false;  // EINTR: treat as a timeout
  if (ready == 0) return false;
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
    absl::Status error = absl::UnavailableError(
        absl::StrCat("listen: ", absl::StripAsciiWhitespace(PQerrorMessage(conn_))));
    Drop();
    return error;
  }
  return drain();
}

}  // namespace dorset::runtime::storage
