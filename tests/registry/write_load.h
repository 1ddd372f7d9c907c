// A write load on the registry for the fault tests (kill -9 of the service or of its
// PostgreSQL): client threads creating practices with request ids until stopped, counting what
// was acknowledged, refused UNAVAILABLE (or cut off by a dead server), or anything else; then a
// check that every acknowledged practice is stored exactly once, with exactly one
// PRACTICE_CREATED change, in a feed numbered 1..N without gaps.
#ifndef DORSET_TESTS_REGISTRY_WRITE_LOAD_H_
#define DORSET_TESTS_REGISTRY_WRITE_LOAD_H_

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {

// Polls `done` every 20 ms until it holds or `timeout` passes (a generous bound, never a timed
// assertion); returns its last answer.
inline bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(60)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  return done();
}

class WriteLoad {
 public:
  // `clients` threads; client t creates practices Y<t+1><nnnn>. A `prefix` keeps the request
  // ids of loads against one store apart.
  WriteLoad(v1::RegistryService::Stub& stub, int clients, const std::string& prefix = "load") {
    for (int t = 0; t < clients; ++t) {
      threads_.emplace_back([this, &stub, t, prefix] { Run(stub, t, prefix); });
    }
  }
  ~WriteLoad() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int acked() const { return acked_.load(); }
  int unavailable() const { return unavailable_.load(); }
  int other() const { return other_.load(); }

  // Reads every practice and the whole change feed through `stub`.
  void ExpectEveryAckedWriteOnce(v1::RegistryService::Stub& stub) {
    std::map<std::string, int> created;  // resource -> PRACTICE_CREATED changes
    int64_t expected_sequence = 1;
    v1::ListChangesRequest list;
    list.set_page_size(1000);
    while (true) {
      grpc::ClientContext context;
      v1::ListChangesResponse page;
      grpc::Status status = stub.ListChanges(&context, list, &page);
      ASSERT_TRUE(status.ok()) << status.error_message();
      for (const v1::Change& c : page.changes()) {
        ASSERT_EQ(c.sequence(), expected_sequence) << "the change feed has a gap";
        ++expected_sequence;
        if (c.kind() == v1::Change::KIND_PRACTICE_CREATED) ++created[c.resource()];
      }
      if (page.next_page_token().empty()) break;
      list.set_page_token(page.next_page_token());
    }
    absl::MutexLock lock(&mu_);
    for (const auto& [code, display_name] : acknowledged_) {
      grpc::ClientContext context;
      v1::GetPracticeRequest get;
      get.set_name("practices/" + code);
      v1::Practice practice;
      grpc::Status status = stub.GetPractice(&context, get, &practice);
      ASSERT_TRUE(status.ok()) << "acknowledged practice lost: " << code << " "
                               << status.error_message();
      EXPECT_EQ(practice.display_name(), display_name);
      EXPECT_EQ(created["practices/" + code], 1) << code;
    }
    // Nothing created twice, acknowledged or not.
    for (const auto& [resource, count] : created) EXPECT_EQ(count, 1) << resource;
    std::cout << "acknowledged: " << acknowledged_.size()
              << ", refused UNAVAILABLE: " << unavailable_.load()
              << ", changes: " << expected_sequence - 1 << "\n";
  }

 private:
  void Run(v1::RegistryService::Stub& stub, int t, const std::string& prefix) {
    for (int n = 0; !stop_.load() && n < 10000; ++n) {
      const std::string code = absl::StrFormat("Y%d%04d", t + 1, n);
      const std::string display_name = absl::StrCat("LOAD SURGERY ", t, " ", n);
      // A write that failed for want of a server is sent again with the same request id until
      // it has an answer, as a client would: the request id makes the retry safe.
      while (!stop_.load()) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        v1::CreatePracticeRequest request;
        request.set_request_id(absl::StrCat(prefix, "-", code));
        *request.mutable_practice() = NewPractice(code, display_name);
        v1::Practice response;
        grpc::Status status = stub.CreatePractice(&context, request, &response);
        if (status.ok()) {
          absl::MutexLock lock(&mu_);
          acknowledged_[code] = display_name;
          ++acked_;
          break;
        }
        if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
            status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
          ++unavailable_;
          absl::SleepFor(absl::Milliseconds(20));
          continue;
        }
        ++other_;
        ADD_FAILURE() << code << ": " << status.error_code() << " " << status.error_message();
        break;
      }
    }
  }

  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acked_{0}, unavailable_{0}, other_{0};
  absl::Mutex mu_;
  std::map<std::string, std::string> acknowledged_ ABSL_GUARDED_BY(mu_);  // code -> name
};

}  // namespace dorset::registry::testing

#endif  // DORSET_TESTS_REGISTRY_WRITE_LOAD_H_
