// The change feed: ListChanges paging, WatchChanges backlog + live changes, resuming after a
// disconnect without gap or duplicate, and streams ended by shutdown.
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

// Reads from a WatchChanges stream on its own thread.
class Watcher {
 public:
  Watcher(v1::RegistryService::Stub& stub, int64_t after) {
    v1::WatchChangesRequest request;
    request.set_after_sequence(after);
    reader_ = stub.WatchChanges(&context_, request);
    thread_ = std::thread([this] {
      v1::Change change;
      while (reader_->Read(&change)) {
        absl::MutexLock lock(&mu_);
        sequences_.push_back(change.sequence());
        resources_.push_back(change.resource());
      }
      status_ = reader_->Finish();
      absl::MutexLock lock(&mu_);
      done_ = true;
    });
  }
  ~Watcher() {
    Cancel();
    thread_.join();
  }
  void Cancel() { context_.TryCancel(); }
  // Waits until `n` changes arrived (or 10 s).
  bool WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    wanted_ = n;
    mu_.AwaitWithTimeout(absl::Condition(this, &Watcher::Ready), absl::Seconds(10));
    return sequences_.size() >= n;
  }
  bool WaitDone() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Seconds(10));
  }
  std::vector<int64_t> sequences() {
    absl::MutexLock lock(&mu_);
    return sequences_;
  }
  grpc::Status status() { return status_; }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::Change>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<int64_t> sequences_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> resources_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  size_t wanted_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::Status status_;

  bool Ready() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return sequences_.size() >= wanted_ || done_;
  }
};

void ExpectContiguous(const std::vector<int64_t>& sequences, int64_t first, int64_t last) {
  ASSERT_EQ(sequences.size(), static_cast<size_t>(last - first + 1));
  for (size_t i = 0; i < sequences.size(); ++i)
    EXPECT_EQ(sequences[i], first + static_cast<int64_t>(i));
}

TEST(ChangeFeed, ListChangesPagesThroughEverySequence) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  for (int i = 0; i < 25; ++i)
    ASSERT_TRUE(env->Create(NewPractice("Y0" + std::to_string(9000 + i))).ok());
  std::vector<int64_t> sequences;
  v1::ListChangesRequest request;
  request.set_page_size(10);
  int pages = 0;
  do {
    grpc::ClientContext context;
    v1::ListChangesResponse response;
    ASSERT_TRUE(env->stub().ListChanges(&context, request, &response).ok());
    EXPECT_EQ(response.latest_sequence(), 25);
    for (const auto& c : response.changes()) {
      sequences.push_back(c.sequence());
      EXPECT_EQ(c.kind(), v1::Change::KIND_PRACTICE_CREATED);
      EXPECT_EQ(c.source(), "api");
      EXPECT_TRUE(c.has_practice());
    }
    request.set_page_token(response.next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  EXPECT_EQ(pages, 3);
  ExpectContiguous(sequences, 1, 25);

  grpc::ClientContext context;
  v1::ListChangesRequest bad;
  bad.set_after_sequence(-1);
  v1::ListChangesResponse response;
  EXPECT_EQ(env->stub().ListChanges(&context, bad, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(ChangeFeed, WatchSendsBacklogThenLiveChangesAndResumesWithoutGapOrDuplicate) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(env->Create(NewPractice("Y0" + std::to_string(9000 + i))).ok());

  std::vector<int64_t> received;
  {
    Watcher watcher(env->stub(), 0);
    ASSERT_TRUE(watcher.WaitFor(10));  // backlog
    // Live changes, written concurrently by several clients.
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; i < 10; ++i) {
          EXPECT_TRUE(env->Create(NewPractice("Y1" + std::to_string(w * 1000 + i + 1000))).ok());
        }
      });
    }
    for (auto& t : writers) t.join();
    ASSERT_TRUE(watcher.WaitFor(50));
    received = watcher.sequences();
    watcher.Cancel();
  }
  ExpectContiguous(received, 1, 50);

  // Changes made while disconnected arrive on resume, starting right after the last one seen.
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(env->Create(NewPractice("Y2" + std::to_string(1000 + i))).ok());
  Watcher resumed(env->stub(), received.back());
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i)
      EXPECT_TRUE(env->Create(NewPractice("Y3" + std::to_string(1000 + i))).ok());
  });
  writer.join();
  ASSERT_TRUE(resumed.WaitFor(25));
  absl::SleepFor(absl::Milliseconds(200));  // nothing extra may arrive
  ExpectContiguous(resumed.sequences(), 51, 75);
}

TEST(ChangeFeed, WatchWithAnImportInFlightSeesEveryChangeOnce) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  Watcher watcher(env->stub(), 0);
  ASSERT_TRUE(
      env->Import(v1::IMPORT_KIND_LOCALITIES, SourceFile("data/dorset/localities.csv")).ok());
  auto report = env->Import(v1::IMPORT_KIND_EPRACCUR, SourceFile("data/ods/epraccur-2025-05.csv"));
  ASSERT_TRUE(report.ok());
  ASSERT_TRUE(watcher.WaitFor(report->last_sequence()));
  ExpectContiguous(watcher.sequences(), 1, report->last_sequence());
}

TEST(ChangeFeed, ShutdownEndsOpenStreams) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  Watcher watcher(env->stub(), 0);
  for (int i = 0; i < 50 && env->module().watcher_count() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(env->module().watcher_count(), 1);
  const absl::Time start = absl::Now();
  env->host().Shutdown();
  ASSERT_TRUE(watcher.WaitDone());
  EXPECT_EQ(watcher.status().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));  // not the whole grace period
}

TEST(ChangeFeed, NegativeResumePointIsRefused) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  Watcher watcher(env->stub(), -5);
  ASSERT_TRUE(watcher.WaitDone());
  EXPECT_EQ(watcher.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace dorset::registry::testing
