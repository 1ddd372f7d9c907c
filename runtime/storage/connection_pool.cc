#include "runtime/storage/connection_pool.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace dorset::runtime::storage {

ConnectionPool::Lease::~Lease() {
  if (connection_ != nullptr) pool_->Release(std::move(connection_), discard_);
}

ConnectionPool::ConnectionPool(Connector* connector, int capacity, bool read_only, Backoff backoff)
    : connector_(connector),
      capacity_(std::max(capacity, 1)),
      read_only_(read_only),
      backoff_(backoff),
      next_backoff_(backoff.initial) {}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    auto can_proceed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < capacity_;
    };
    mu_.Await(absl::Condition(&can_proceed));
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
    if (absl::Now() < retry_after_) {
      return absl::UnavailableError(
          absl::StrCat(last_connect_error_.message(), " (reconnecting with backoff)"));
    }
    ++open_;  // reserve the slot while connecting outside the lock
  }
  absl::StatusOr<std::unique_ptr<Connection>> connection = connector_->Connect(read_only_);
  absl::MutexLock lock(&mu_);
  if (!connection.ok()) {
    --open_;
    last_connect_error_ = connection.status();
    retry_after_ = absl::Now() + next_backoff_;
    next_backoff_ = std::min(next_backoff_ * 2, backoff_.max);
    return connection.status();
  }
  next_backoff_ = backoff_.initial;
  retry_after_ = absl::InfinitePast();
  return Lease(this, *std::move(connection));
}

void ConnectionPool::Release(std::unique_ptr<Connection> connection, bool discard_it) {
  std::unique_ptr<Connection> discard;  // closed outside the lock
  absl::MutexLock lock(&mu_);
  if (discard_it || connection->broken()) {
    discard = std::move(connection);
    --open_;
    return;
  }
  idle_.push_back(std::move(connection));
}

void ConnectionPool::DiscardIdle() {
  std::vector<std::unique_ptr<Connection>> discard;
  absl::MutexLock lock(&mu_);
  open_ -= static_cast<int>(idle_.size());
  discard.swap(idle_);
}

}  // namespace dorset::runtime::storage
