// A CreateResponse load on engagement for the fault tests (kill -9 of the service or of its
// PostgreSQL, a forced serialization failure): client threads send responses with request ids
// until stopped, sending a response refused UNAVAILABLE (or cut off by a dead server) again with
// the same request id, as a client would; then a check that every acknowledged response is
// stored exactly once under the name it was acknowledged with, no request stored twice, and the
// activity's counters agree with the rows.
#ifndef DORSET_TESTS_ENGAGEMENT_RESPONSE_LOAD_H_
#define DORSET_TESTS_ENGAGEMENT_RESPONSE_LOAD_H_

#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "gtest/gtest.h"

namespace dorset::engagement::testing {

// Polls `done` every 20 ms until it holds or `timeout` passes (a generous bound, never a timed
// assertion); returns its last answer.
inline bool WaitUntil(const std::function<bool()>& done,
                      absl::Duration timeout = absl::Seconds(60)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  return done();
}

// Creates an activity and opens it for the load (a test without auth: every permission).
inline void OpenLoadActivity(v1::EngagementService::Stub& stub, const std::string& activity) {
  grpc::ClientContext create_context;
  v1::CreateActivityRequest create;
  create.set_activity_id(activity);
  create.mutable_activity()->set_kind(v1::ACTIVITY_KIND_CONSULTATION);
  create.mutable_activity()->set_title("Load " + activity);
  create.mutable_activity()->set_purpose("fault test");
  v1::Activity out;
  grpc::Status status = stub.CreateActivity(&create_context, create, &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
  grpc::ClientContext open_context;
  v1::OpenActivityRequest open;
  open.set_name("activities/" + activity);
  status = stub.OpenActivity(&open_context, open, &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

class ResponseLoad {
 public:
  // `clients` threads; client t sends "<prefix> t n" with request id "<prefix>-t-n". A client
  // stops after `per_client` responses (0: until Stop). `stub` may be swapped (SetStub) while the
  // load runs, for a restarted server on another channel.
  ResponseLoad(v1::EngagementService::Stub* stub, std::string activity, int clients,
               std::string prefix, int per_client = 0)
      : stub_(stub), activity_(std::move(activity)), prefix_(std::move(prefix)) {
    for (int t = 0; t < clients; ++t) {
      threads_.emplace_back([this, t, per_client] { Run(t, per_client); });
    }
  }
  ~ResponseLoad() { Stop(); }

  // Stops sending (a response in flight is still retried until it has an answer unless
  // `abandon_in_flight`, for a server that will not come back).
  void Stop(bool abandon_in_flight = false) {
    abandon_ = abandon_in_flight;
    stop_ = true;
    Join();
  }
  void Join() {
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int acked() const { return acked_.load(); }
  int unavailable() const { return unavailable_.load(); }
  int other() const { return other_.load(); }

  // Reads every response of the activity and its aggregates through `stub`.
  void ExpectEveryAckedResponseOnce(v1::EngagementService::Stub& stub) {
    std::map<std::string, std::vector<std::string>> by_text;  // text -> names
    v1::ListResponsesRequest list;
    list.set_parent("activities/" + activity_);
    list.set_page_size(1000);
    int stored = 0;
    while (true) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      v1::ListResponsesResponse page;
      grpc::Status status = stub.ListResponses(&context, list, &page);
      ASSERT_TRUE(status.ok()) << status.error_message();
      for (const v1::Response& r : page.responses()) {
        by_text[r.text()].push_back(r.name());
        ++stored;
      }
      if (page.next_page_token().empty()) break;
      list.set_page_token(page.next_page_token());
    }
    absl::MutexLock lock(&mu_);
    for (const auto& [text, name] : acknowledged_) {
      auto it = by_text.find(text);
      ASSERT_NE(it, by_text.end()) << "acknowledged response lost: " << text;
      ASSERT_EQ(it->second.size(), 1u) << text;
      EXPECT_EQ(it->second[0], name) << text;
    }
    // Nothing stored twice, acknowledged or not.
    for (const auto& [text, names] : by_text) EXPECT_EQ(names.size(), 1u) << text;
    // The counters were written in the same transactions as the rows.
    grpc::ClientContext context;
    v1::GetActivityAggregatesRequest aggregates_request;
    aggregates_request.set_name("activities/" + activity_ + "/aggregates");
    v1::ActivityAggregates aggregates;
    grpc::Status status = stub.GetActivityAggregates(&context, aggregates_request, &aggregates);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(aggregates.total_responses(), stored);
    std::cout << "acknowledged: " << acknowledged_.size()
              << ", refused UNAVAILABLE: " << unavailable_.load() << ", stored: " << stored << "\n";
  }

  void SetStub(v1::EngagementService::Stub* stub) {
    absl::MutexLock lock(&mu_);
    stub_ = stub;
  }

 private:
  v1::EngagementService::Stub* stub() {
    absl::MutexLock lock(&mu_);
    return stub_;
  }

  void Run(int t, int per_client) {
    for (int n = 0; !stop_.load() && (per_client == 0 || n < per_client); ++n) {
      const std::string text = absl::StrCat(prefix_, " ", t, " ", n);
      v1::CreateResponseRequest request;
      request.set_parent("activities/" + activity_);
      request.set_request_id(absl::StrCat(prefix_, "-", t, "-", n));
      request.mutable_response()->set_channel(v1::CHANNEL_ONLINE);
      request.mutable_response()->set_sentiment(v1::SENTIMENT_SUPPORTIVE);
      request.mutable_response()->set_publish_consent(true);
      request.mutable_response()->set_text(text);
      while (!(stop_.load() && abandon_.load())) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        v1::Response response;
        grpc::Status status = stub()->CreateResponse(&context, request, &response);
        if (status.ok()) {
          absl::MutexLock lock(&mu_);
          acknowledged_[text] = response.name();
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
        ADD_FAILURE() << text << ": " << status.error_code() << " " << status.error_message();
        break;
      }
    }
  }

  v1::EngagementService::Stub* stub_ ABSL_GUARDED_BY(mu_);
  const std::string activity_;
  const std::string prefix_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false}, abandon_{false};
  std::atomic<int> acked_{0}, unavailable_{0}, other_{0};
  absl::Mutex mu_;
  std::map<std::string, std::string> acknowledged_ ABSL_GUARDED_BY(mu_);  // text -> name
};

}  // namespace dorset::engagement::testing

#endif  // DORSET_TESTS_ENGAGEMENT_RESPONSE_LOAD_H_
