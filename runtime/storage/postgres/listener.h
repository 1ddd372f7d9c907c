// PostgreSQL LISTEN on one channel over a dedicated libpq connection (not the pool's: a
// listening connection must stay open between transactions). Used by services that run as
// several replicas over one database to learn promptly that another replica committed
// (`SELECT pg_notify(channel, '')` inside the write transaction is delivered only if, and when,
// it commits). A notification is a hint: the database stays the source of truth, and the caller
// still reads what changed from its tables (and polls on a timeout, so a notification lost while
// the connection was down costs latency, never correctness).
//
//   PostgresListener listener(uri, password, "dorset_registry_changes");
//   while (running) {
//     absl::StatusOr<bool> notified = listener.Wait(absl::Seconds(1));  // false: timed out
//     ReadNewRowsFromTheTable();
//   }
#ifndef DORSET_RUNTIME_STORAGE_POSTGRES_LISTENER_H_
#define DORSET_RUNTIME_STORAGE_POSTGRES_LISTENER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct pg_conn;

namespace dorset::runtime::storage {

class PostgresListener {
 public:
  // `channel` must be a plain identifier (letters, digits, '_'); nothing connects until Wait.
  PostgresListener(std::string uri, std::string password, std::string channel);
  ~PostgresListener();
  PostgresListener(const PostgresListener&) = delete;
  PostgresListener& operator=(const PostgresListener&) = delete;

  // Waits up to `timeout` for a notification on the channel. True when one (or more: they are
  // drained) arrived; false on timeout. (Re)connects and LISTENs first when needed: the call
  // that does so returns true, since notifications may have been missed while disconnected.
  // UNAVAILABLE when the server cannot be reached (the caller waits and calls again).
  // `payloads`, when given, receives the drained notifications' payloads (none on a
  // (re)connection: what was missed has no payload to tell).
  absl::StatusOr<bool> Wait(absl::Duration timeout, std::vector<std::string>* payloads = nullptr);
  // Whether the listening connection is up (for tests and logs).
  bool connected() const { return conn_ != nullptr; }

 private:
  absl::Status Connect();
  void Drop();

  const std::string uri_;
  const std::string password_;
  const std::string channel_;
  pg_conn* conn_ = nullptr;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_POSTGRES_LISTENER_H_
