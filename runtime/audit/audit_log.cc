// The audit log's queue (AuditLog, audit_log.h): events recorded, the groups taken from the
// front and put back, a committed group settled and its calls released, and the events a
// completing thread writes itself. The writer thread is in audit_log_writer.cc, the schema and
// opening in audit_log_open.cc, ListAuditEvents' pages in audit_log_list.cc.
#include "runtime/audit/audit_log.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "runtime/base/completion_batch.h"
#include "runtime/base/thread_name.h"
#include "runtime/logging/log.h"

namespace dorset::runtime {
namespace {

constexpr size_t kMaxBatch = 1000;

// DORSET_AUDIT_DEFER=on: completing threads write their batches' events themselves. Off by
// default: measured on a quiet machine (bench/README.md, "Acknowledged writes on a quiet
// machine"), engagement's responses went from 0.22x to 0.10x echo with it on, at twice the CPU
// per call, so the writer thread writes every event unless asked otherwise.
bool DeferToCompletionBatches() {
  const char* value = std::getenv("DORSET_AUDIT_DEFER");
  return value != nullptr && std::string_view(value) == "on";
}

// SQLite (session 15): moves are committed with synchronous=NORMAL, and at least this often one
// write of the trail is a sync point (synchronous=FULL), after which the stores may delete the
// moved rows. A power loss can take only the moves since the last sync point, and their rows are
// still in the outboxes, so they are moved again (docs/security.md, "The trail's own sync").
constexpr absl::Duration kSyncInterval = absl::Seconds(1);

// DORSET_AUDIT_TRAIL_SYNC: `each` commits every write of the trail with synchronous=FULL (as
// before session 15, for A/B measurements and a way back); a duration ("250ms", "1h") sets how
// long moves may stay unsynced; unset or unparsable: kSyncInterval.
struct TrailSync {
  bool each = false;
  absl::Duration interval = kSyncInterval;
};
TrailSync TrailSyncSetting() {
  TrailSync sync;
  const char* value = std::getenv("DORSET_AUDIT_TRAIL_SYNC");
  if (value == nullptr) return sync;
  if (std::string_view(value) == "each") {
    sync.each = true;
  } else if (absl::Duration d; absl::ParseDuration(value, &d) && d >= absl::ZeroDuration()) {
    sync.interval = d;
  }
  return sync;
}

}  // namespace

AuditLog::AuditLog(std::unique_ptr<sqlite::Database> db, std::unique_ptr<sqlite::Database> reader,
                   std::unique_ptr<storage::Database> shared, PageTokenCodec page_tokens,
                   Metrics metrics)
    : db_(std::move(db)),
      reader_(std::move(reader)),
      shared_(std::move(shared)),
      page_tokens_(std::move(page_tokens)),
      metrics_(metrics),
      defer_(DeferToCompletionBatches()),
      sync_each_(TrailSyncSetting().each),
      sync_interval_(TrailSyncSetting().interval) {
  writer_ = std::thread([this] {
    NameThisThread("audit-trail");
    WriterLoop();
  });
}

AuditLog::~AuditLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
}

void AuditLog::Record(common::v1::AuditEvent event, Durable durable) {
  const absl::Time now = absl::Now();
  const int64_t now_us = absl::ToUnixMicros(now);
  event.mutable_time()->set_seconds(now_us / 1000000);
  event.mutable_time()->set_nanos(static_cast<int32_t>(now_us % 1000000) * 1000);
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    // A full queue while the trail works means the writer is behind: wait for it (briefly).
    // While the trail fails nobody waits: the event is refused and its call told so.
    auto has_room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return queue_.size() < kMaxQueued || stopping_ || !failure_.ok();
    };
    // A callback run by the writer may end a call whose interceptor records: never wait there.
    if (std::this_thread::get_id() != writer_.get_id()) mu_.Await(absl::Condition(&has_room));
    ++recorded_;
    if (queue_.size() < kMaxQueued) {
      // While the trail is known to fail, answer the call at the next failed attempt.
      const absl::Time deadline = failure_.ok() ? now + kAckBudget : now;
      queue_.push_back(Pending{std::move(event), std::move(durable), deadline});
      if (metrics_.queued != nullptr) metrics_.queued->Increment();
      // On a thread completing a batch of calls (a group committer finishing a group), this
      // thread writes the queued events itself when its batch closes, in one transaction with
      // the rest of the group's: the writer thread is not woken for them.
      if (defer_ && failure_.ok()) {
        if (CompletionBatch* batch = CompletionBatch::Current();
            batch != nullptr && batch->Defer(this, [this] { WriteDeferred(); })) {
          ++deferring_;
        }
      }
      return;
    }
    ++settled_;
    refused = failure_.ok() ? absl::UnavailableError("the audit queue is full") : failure_;
  }
  Drop(event, refused);
  if (durable) durable(refused);
}

// Not for a thread inside a CompletionBatch that recorded events: those are written only when
// its batch closes (ListAuditEvents, the one caller, runs on a gRPC thread).
bool AuditLog::Flush() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = recorded_;
  // Outbox rows committed before this call are moved by a write that starts after it.
  const uint64_t ticket = outboxes_.empty() ? moves_done_ : ++move_requests_;
  auto caught_up = [this, target, ticket]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return settled_ >= target && moves_done_ >= ticket;
  };
  // Wait in slices: a trail that starts failing mid-wait bounds the wait to kAckBudget.
  while (!caught_up()) {
    if (!failure_.ok()) return mu_.AwaitWithTimeout(absl::Condition(&caught_up), kAckBudget);
    mu_.AwaitWithTimeout(absl::Condition(&caught_up), absl::Milliseconds(100));
  }
  return true;
}

absl::Status AuditLog::Health() {
  absl::MutexLock lock(&mu_);
  return failure_;
}

void AuditLog::SetSyncHookForTesting(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  sync_hook_ = std::move(hook);
}

void AuditLog::Drop(const common::v1::AuditEvent& event, const absl::Status& why) {
  // The last resort: the event goes to the service log, which is collected off the machine.
  log::Error("audit event not written to the audit trail",
             {{"principal", event.principal()},
              {"method", event.method()},
              {"resource", event.resource()},
              {"action", event.action()},
              {"request_id", event.request_id()},
              {"outcome", event.outcome()},
              {"time_us", event.time().seconds() * 1000000 + event.time().nanos() / 1000},
              {"error", std::string(why.message())}});
  if (metrics_.dropped != nullptr) metrics_.dropped->Increment();
}

std::vector<AuditLog::Durable> AuditLog::TakeExpired(absl::Time now) {
  std::vector<Durable> expired;
  for (Pending& p : queue_) {
    if (p.durable && p.deadline <= now) expired.push_back(std::exchange(p.durable, nullptr));
  }
  return expired;
}

std::vector<AuditLog::Pending> AuditLog::TakeBatch() {
  std::vector<Pending> batch;
  batch.reserve(std::min(queue_.size(), kMaxBatch));
  while (!queue_.empty() && batch.size() < kMaxBatch) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  writing_ = true;
  return batch;
}

void AuditLog::PutBack(std::vector<Pending>& batch) {
  // At the front, in order: the next attempt writes them first, so sequence order stays the
  // order in which the events were recorded.
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
  batch.clear();
  writing_ = false;
}

void AuditLog::Settle(std::vector<Pending>& batch, const Moved* moved, uint64_t ticket, bool synced,
                      uint64_t sync_ticket) {
  if (moved != nullptr) {
    // Committed: the next moves start after these rows (SQLite).
    for (const auto& [source, mark] : moved->marks) source->moved_.store(mark);
  }
  if (synced && db_ != nullptr) {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      hook = sync_hook_;
    }
    if (hook) hook();  // still the one writing: nothing has been written after the sync
  }
  std::vector<Durable> done;
  done.reserve(batch.size());
  for (Pending& p : batch) {
    if (p.durable) done.push_back(std::move(p.durable));
  }
  const size_t n = batch.size();
  batch.clear();
  bool recovered = false;
  {
    absl::MutexLock lock(&mu_);
    settled_ += n;
    moves_done_ = std::max(moves_done_, ticket);
    if (moved != nullptr && moved->more) outbox_rows_ = true;
    if (db_ != nullptr) {
      if (synced) {
        // A sync point: everything the trail holds is durable (an fdatasync of the WAL covers
        // every frame before it), so every store may delete up to its trail mark. Under mu_ and
        // before writing_ is cleared: Detach waits for both before it forgets an outbox.
        for (AuditOutbox* outbox : outboxes_) outbox->durable_.store(outbox->moved_.load());
        unsynced_events_ = 0;
        last_sync_ = absl::Now();
        syncs_done_ = std::max(syncs_done_, sync_ticket);
      } else if (moved != nullptr) {
        unsynced_events_ += moved->events;
      }
    }
    recovered = !failure_.ok();
    failure_ = absl::OkStatus();
    writing_ = false;  // the next group may start while these replies are released
  }
  if (recovered) log::Info("audit trail writable again", {});
  if (metrics_.written != nullptr) {
    metrics_.written->Increment(static_cast<double>(n + (moved != nullptr ? moved->events : 0)));
    metrics_.queued->Decrement(static_cast<double>(n));
    metrics_.writable->Set(1);
  }
  for (Durable& d : done) d(absl::OkStatus());
}

void AuditLog::WriteDeferred() {
  std::vector<Pending> batch;
  {
    absl::MutexLock lock(&mu_);
    --deferring_;
    // Busy (another group is being written: the writer thread takes these next) or failing
    // (the writer thread retries with its back-off and answers deadlines): leave them queued.
    if (writing_ || !failure_.ok() || queue_.empty()) return;
    batch = TakeBatch();
  }
  const absl::Status status = WriteBatch(batch);
  if (status.ok()) {
    Settle(batch);
    return;
  }
  if (metrics_.failures != nullptr) {
    metrics_.failures->Increment();
    metrics_.writable->Set(0);
  }
  absl::MutexLock lock(&mu_);
  failure_ = status;
  PutBack(batch);  // wakes the writer thread, which retries and answers the deadlines
}

}  // namespace dorset::runtime
