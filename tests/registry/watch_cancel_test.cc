// Cancelled WatchChanges streams (issue 10, item 2): a client that reads one change and cancels
// while the server has a write in flight must not leak its reactor, and shutdown must return.
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "runtime/server/stream_writer.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

// Waits up to `timeout` for `done()`; true when it held.
template <typename Fn>
bool Eventually(Fn done, absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

TEST(WatchCancel, CancelledStreamsAreFreedAndShutdownReturns) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  // A backlog far larger than a stream's flow-control window, so the server always has a
  // write in flight (blocked on the window) when the client cancels.
  const std::string epraccur = SourceFile("data/ods/epraccur-2025-05.csv");
  int64_t last_sequence = 0;
  for (const char* commissioner : {"11J", "W2U3Z", "A3A8R", "91Q"}) {
    auto report = env->Import(v1::IMPORT_KIND_EPRACCUR, epraccur, commissioner);
    ASSERT_TRUE(report.ok()) << report.status();
    last_sequence = report->last_sequence();
  }
  ASSERT_GT(last_sequence, 1000);  // about 400 KB of changes
  const int64_t streams_before = runtime::LiveStreamWriters().load();

  constexpr int kCancels = 200;
  for (int i = 0; i < kCancels; ++i) {
    grpc::ClientContext context;
    v1::WatchChangesRequest request;
    request.set_after_sequence(0);
    auto reader = env->stub().WatchChanges(&context, request);
    v1::Change change;
    ASSERT_TRUE(reader->Read(&change)) << "stream " << i;
    EXPECT_EQ(change.sequence(), 1);
    context.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // Every cancelled stream is finished, unregistered from the hub and freed.
  EXPECT_TRUE(Eventually([&] { return env->module().watcher_count() == 0; }))
      << env->module().watcher_count() << " watchers still registered";
  EXPECT_TRUE(Eventually([&] { return runtime::LiveStreamWriters().load() == streams_before; }))
      << runtime::LiveStreamWriters().load() - streams_before << " stream reactors leaked";

  // One more stream cancelled just before shutdown, with its write still in flight.
  grpc::ClientContext context;
  v1::WatchChangesRequest request;
  auto reader = env->stub().WatchChanges(&context, request);
  v1::Change change;
  ASSERT_TRUE(reader->Read(&change));
  context.TryCancel();

  absl::Notification stopped;
  std::thread stopper([&] {
    env->host().Shutdown();
    stopped.Notify();
  });
  // The grace period is a few seconds; a leaked reactor makes Shutdown() wait for ever.
  if (!stopped.WaitForNotificationWithTimeout(absl::Seconds(60))) {
    ADD_FAILURE() << "ServiceHost::Shutdown() did not return within 60 s";
    std::_Exit(1);  // the stopper thread is stuck inside gRPC; do not hang the suite
  }
  stopper.join();
  (void)reader->Finish();
}

}  // namespace
}  // namespace dorset::registry::testing
