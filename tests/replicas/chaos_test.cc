// The chaos test of issue 13 over real processes: PostgreSQL, Redis, and replicas of the real
// service binaries (CI: registry and finance, two replicas each; the maintainers' run,
// scripts/chaos-replicas: three services, three replicas, longer), under a mixed read/write load
// from clients that use gRPC's own round_robin over the replicas' addresses (with client-side
// health checking, so a draining replica is left alone) and retry a failed write with the same
// request_id until it is answered.
//   1. kill -9 one replica every few seconds and start it again, until every replica was killed
//      at least once and the phase's time is up;
//   2. a rolling restart: each replica in turn stopped with SIGTERM (readiness NOT_SERVING,
//      drain, in-flight calls finish) and started again;
//   3. all along, a WatchChanges client moved between the registry replicas (every few
//      seconds, and whenever its replica dies), resuming from the last sequence it received.
// Asserted: every replica killed at least once; at least kMinAcked writes acknowledged per
// service; lost 0, duplicated 0; every acknowledged write in the one audit trail (listed through
// any replica: the trail is the database's), 0 missing; calls failed to the caller after retries 0
// in the rolling restart; watch gaps 0 and duplicates 0. The figures are printed.
//
// Sizes come from the environment (defaults are the CI size): DORSET_CHAOS_SERVICES (2 or 3),
// DORSET_CHAOS_REPLICAS (2 or 3), DORSET_CHAOS_KILL_SECONDS (default 24),
// DORSET_CHAOS_KILL_EVERY_MS (default 2500). ctest label `postgres_only`.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "dorset/common/v1/audit.grpc.pb.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/registry/registry_test_env.h"
#include "tests/replicas/replica_set.h"

namespace dorset::replicas {
namespace {

namespace reg = dorset::registry::v1;
namespace fin = dorset::finance::v1;
namespace eng = dorset::engagement::v1;

constexpr int kMinAcked = 200;  // per service (a CI run acknowledges thousands)
constexpr char kScheme[] = "plans/dorset-stp/programmes/managing-demand/schemes/rightcare";
constexpr char kActivity[] = "chaos-load";

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  int parsed = 0;
  return value != nullptr && absl::SimpleAtoi(value, &parsed) ? parsed : fallback;
}

// The round_robin channel of a client over every replica of one service: health-checked
// (NOT_SERVING replicas get no new calls) and with gRPC's own retry of UNAVAILABLE.
std::shared_ptr<grpc::Channel> ServiceChannel(const std::vector<std::string>& addresses,
                                              const std::string& health_name) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(absl::StrCat(
      R"({"loadBalancingConfig":[{"round_robin":{}}],"healthCheckConfig":{"serviceName":")",
      health_name,
      R"("},"methodConfig":[{"name":[{}],"retryPolicy":{"maxAttempts":4,"initialBackoff":"0.05s",)",
      R"("maxBackoff":"0.5s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]})"));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::string target = "ipv4:";
  for (size_t i = 0; i < addresses.size(); ++i) {
    absl::StrAppend(&target, i == 0 ? "" : ",", addresses[i]);
  }
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// A service under test: its replicas, its client channel, what a write and a read are, and how
// to find every stored write again.
struct Service {
  std::string name;
  std::string binary;
  std::string health_name;
  std::vector<std::unique_ptr<Replica>> replicas;
  std::shared_ptr<grpc::Channel> channel;
  // One write with this request id and serial; on success `key` names what was written (the
  // value the verification finds it by).
  std::function<grpc::Status(const std::string& request_id, int serial, std::string* key)> write;
  std::function<grpc::Status(std::mt19937& random)> read;
  // Every stored write's key with how many times it is stored.
  std::function<std::map<std::string, int>()> stored;
  std::vector<int> kills;  // per replica
  absl::Mutex mu;
  std::set<std::string> acked ABSL_GUARDED_BY(mu);
  std::set<std::string> acked_request_ids ABSL_GUARDED_BY(mu);
};

// The request ids of the calls the shared audit trail (any replica: one trail in the database)
// records as answered OK.
std::set<std::string> AuditedOk(Service& service) {
  auto stub = dorset::common::v1::AuditService::NewStub(service.channel);
  std::set<std::string> ids;
  dorset::common::v1::ListAuditEventsRequest request;
  request.set_page_size(1000);
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    dorset::common::v1::ListAuditEventsResponse page;
    grpc::Status status = stub->ListAuditEvents(&context, request, &page);
    EXPECT_TRUE(status.ok()) << service.name << ": " << status.error_message();
    if (!status.ok()) return ids;
    for (const auto& e : page.events()) {
      if (e.outcome() == "OK") ids.insert(e.request_id());
    }
    if (page.next_page_token().empty()) return ids;
    request.set_page_token(page.next_page_token());
  }
}

bool Serving(const std::string& address, const std::string& health_name) {
  auto stub = grpc::health::v1::Health::NewStub(ChannelTo(address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(health_name);
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, request, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

grpc::ClientContext* WithDeadline(grpc::ClientContext* context, int seconds = 10) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

bool Retryable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         status.error_code() == grpc::StatusCode::ABORTED ||
         status.error_code() == grpc::StatusCode::CANCELLED;
}

class ChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shared_ = SharedBackends::Start();
    ASSERT_NE(shared_, nullptr);
    services_count_ = std::clamp(EnvInt("DORSET_CHAOS_SERVICES", 2), 2, 3);
    replicas_count_ = std::clamp(EnvInt("DORSET_CHAOS_REPLICAS", 2), 2, 5);
    AddRegistry();
    AddFinance();
    if (services_count_ >= 3) AddEngagement();
    for (auto& service : services_) {
      const std::string database = shared_->NewDatabase();
      std::vector<std::string> addresses;
      for (int r = 0; r < replicas_count_; ++r) {
        service->replicas.push_back(std::make_unique<Replica>(
            service->binary, shared_->NewDir(absl::StrCat(service->name, r)), database,
            ReplicaFlags(*shared_, {"--drain_seconds=1", "--shutdown_grace_seconds=10"})));
        addresses.push_back(service->replicas.back()->address());
      }
      service->kills.assign(replicas_count_, 0);
      // The first replica migrates and seeds the empty database; the others join it.
      for (auto& replica : service->replicas) {
        replica->Start();
        ASSERT_TRUE(WaitServing(*service, *replica)) << service->name << " did not start";
      }
      service->channel = ServiceChannel(addresses, service->health_name);
    }
    if (services_count_ >= 3) {
      auto stub = eng::EngagementService::NewStub(services_[2]->channel);
      grpc::ClientContext create_context;
      eng::CreateActivityRequest create;
      create.set_activity_id(kActivity);
      create.mutable_activity()->set_kind(eng::ACTIVITY_KIND_CONSULTATION);
      create.mutable_activity()->set_title("Chaos load");
      create.mutable_activity()->set_purpose("chaos test");
      eng::Activity out;
      ASSERT_TRUE(stub->CreateActivity(WithDeadline(&create_context), create, &out).ok());
      grpc::ClientContext open_context;
      eng::OpenActivityRequest open;
      open.set_name(absl::StrCat("activities/", kActivity));
      ASSERT_TRUE(stub->OpenActivity(WithDeadline(&open_context), open, &out).ok());
    }
  }

  bool WaitServing(Service& service, Replica& replica) {
    return WaitFor([&] { return Serving(replica.address(), service.health_name); });
  }

  void AddRegistry() {
    auto s = std::make_unique<Service>();
    s->name = "registry";
    s->binary = DORSET_REGISTRY_BINARY;
    s->health_name = std::string(reg::RegistryService::service_full_name());
    Service* service = s.get();
    s->write = [service](const std::string& request_id, int serial, std::string* key) {
      auto stub = reg::RegistryService::NewStub(service->channel);
      const std::string code = absl::StrFormat("Y%05d", serial);
      grpc::ClientContext context;
      context.AddMetadata("x-request-id", request_id);  // the audit event's id
      reg::CreatePracticeRequest request;
      request.set_request_id(request_id);
      *request.mutable_practice() =
          dorset::registry::testing::NewPractice(code, absl::StrCat("CHAOS SURGERY ", serial));
      reg::Practice out;
      grpc::Status status = stub->CreatePractice(WithDeadline(&context), request, &out);
      *key = "practices/" + code;
      return status;
    };
    s->read = [service](std::mt19937& random) {
      auto stub = reg::RegistryService::NewStub(service->channel);
      std::string name;
      {
        absl::MutexLock lock(&service->mu);
        if (service->acked.empty()) return grpc::Status::OK;
        auto it = service->acked.begin();
        std::advance(it, random() % service->acked.size());
        name = *it;
      }
      grpc::ClientContext context;
      reg::GetPracticeRequest request;
      request.set_name(name);
      reg::Practice out;
      return stub->GetPractice(WithDeadline(&context), request, &out);
    };
    s->stored = [service] {
      auto stub = reg::RegistryService::NewStub(service->channel);
      std::map<std::string, int> created;
      reg::ListChangesRequest list;
      list.set_page_size(1000);
      int64_t expected = 1;
      while (true) {
        grpc::ClientContext context;
        reg::ListChangesResponse page;
        grpc::Status status = stub->ListChanges(WithDeadline(&context, 30), list, &page);
        EXPECT_TRUE(status.ok()) << status.error_message();
        if (!status.ok()) break;
        for (const reg::Change& c : page.changes()) {
          EXPECT_EQ(c.sequence(), expected++) << "the change feed has a gap";
          if (c.kind() == reg::Change::KIND_PRACTICE_CREATED) ++created[c.resource()];
        }
        if (page.next_page_token().empty()) break;
        list.set_page_token(page.next_page_token());
      }
      return created;
    };
    services_.push_back(std::move(s));
  }

  void AddFinance() {
    auto s = std::make_unique<Service>();
    s->name = "finance";
    s->binary = DORSET_FINANCE_BINARY;
    s->health_name = std::string(fin::FinanceService::service_full_name());
    Service* service = s.get();
    s->write = [service](const std::string& request_id, int serial, std::string* key) {
      auto stub = fin::FinanceService::NewStub(service->channel);
      grpc::ClientContext context;
      context.AddMetadata("x-request-id", request_id);  // the audit event's id
      fin::CreatePostingRequest request;
      request.set_request_id(request_id);
      fin::Posting* p = request.mutable_posting();
      p->set_scheme(kScheme);
      p->set_financial_year("2019-20");
      p->set_month(serial % 12 + 1);
      p->set_kind(fin::POSTING_KIND_ACTUAL);
      p->mutable_amount()->set_pence(serial + 1);
      p->set_reason("chaos");
      fin::Posting out;
      *key = request_id;
      return stub->CreatePosting(WithDeadline(&context), request, &out);
    };
    s->read = [service](std::mt19937& random) {
      auto stub = fin::FinanceService::NewStub(service->channel);
      grpc::ClientContext context;
      fin::ListPostingsRequest request;
      request.set_page_size(10);
      fin::ListPostingsResponse out;
      (void)random;
      return stub->ListPostings(WithDeadline(&context), request, &out);
    };
    s->stored = [service] {
      auto stub = fin::FinanceService::NewStub(service->channel);
      std::map<std::string, int> by_request;
      fin::ListPostingsRequest list;
      list.set_page_size(1000);
      while (true) {
        grpc::ClientContext context;
        fin::ListPostingsResponse page;
        grpc::Status status = stub->ListPostings(WithDeadline(&context, 30), list, &page);
        EXPECT_TRUE(status.ok()) << status.error_message();
        if (!status.ok()) break;
        for (const fin::Posting& p : page.postings()) {
          if (!p.request_id().empty()) ++by_request[p.request_id()];
        }
        if (page.next_page_token().empty()) break;
        list.set_page_token(page.next_page_token());
      }
      return by_request;
    };
    services_.push_back(std::move(s));
  }

  void AddEngagement() {
    auto s = std::make_unique<Service>();
    s->name = "engagement";
    s->binary = DORSET_ENGAGEMENT_BINARY;
    s->health_name = std::string(eng::EngagementService::service_full_name());
    Service* service = s.get();
    s->write = [service](const std::string& request_id, int serial, std::string* key) {
      auto stub = eng::EngagementService::NewStub(service->channel);
      grpc::ClientContext context;
      context.AddMetadata("x-request-id", request_id);  // the audit event's id
      eng::CreateResponseRequest request;
      request.set_parent(absl::StrCat("activities/", kActivity));
      request.set_request_id(request_id);
      request.mutable_response()->set_channel(eng::CHANNEL_ONLINE);
      request.mutable_response()->set_sentiment(eng::SENTIMENT_SUPPORTIVE);
      request.mutable_response()->set_publish_consent(true);
      *key = absl::StrCat("chaos response ", serial);
      request.mutable_response()->set_text(*key);
      eng::Response out;
      return stub->CreateResponse(WithDeadline(&context), request, &out);
    };
    s->read = [service](std::mt19937& random) {
      auto stub = eng::EngagementService::NewStub(service->channel);
      grpc::ClientContext context;
      eng::GetActivityAggregatesRequest request;
      request.set_name(absl::StrCat("activities/", kActivity, "/aggregates"));
      eng::ActivityAggregates out;
      (void)random;
      return stub->GetActivityAggregates(WithDeadline(&context), request, &out);
    };
    s->stored = [service] {
      auto stub = eng::EngagementService::NewStub(service->channel);
      std::map<std::string, int> by_text;
      eng::ListResponsesRequest list;
      list.set_parent(absl::StrCat("activities/", kActivity));
      list.set_page_size(1000);
      while (true) {
        grpc::ClientContext context;
        eng::ListResponsesResponse page;
        grpc::Status status = stub->ListResponses(WithDeadline(&context, 30), list, &page);
        EXPECT_TRUE(status.ok()) << status.error_message();
        if (!status.ok()) break;
        for (const eng::Response& r : page.responses()) ++by_text[r.text()];
        if (page.next_page_token().empty()) break;
        list.set_page_token(page.next_page_token());
      }
      return by_text;
    };
    services_.push_back(std::move(s));
  }

  std::unique_ptr<SharedBackends> shared_;
  int services_count_ = 2;
  int replicas_count_ = 2;
  std::vector<std::unique_ptr<Service>> services_;
};

// Per phase: calls answered, and calls that failed to the caller after every retry.
struct PhaseFigures {
  std::atomic<int> calls{0};
  std::atomic<int> failed_after_retries{0};
};

TEST_F(ChaosTest, KillsAndRollingRestartLoseNothingAndDuplicateNothing) {
  std::atomic<int> phase{0};  // 0: kill -9, 1: rolling restart, 2: done
  PhaseFigures figures[2];
  std::atomic<bool> stop{false};
  std::atomic<int> serial{0};

  // Writers: each write is retried with the same request id until answered (a budget of 60 s,
  // far beyond a replica's restart); a failure after that is a failure to the caller.
  std::vector<std::thread> clients;
  for (auto& service_ptr : services_) {
    Service* service = service_ptr.get();
    for (int t = 0; t < 2; ++t) {
      clients.emplace_back([&, service, t] {
        while (!stop.load()) {
          const int n = serial.fetch_add(1);
          const int started_in = std::min(phase.load(), 1);
          const std::string request_id = absl::StrCat("chaos-", service->name, "-", t, "-", n);
          const absl::Time deadline = absl::Now() + absl::Seconds(60);
          std::string key;
          grpc::Status status;
          do {
            status = service->write(request_id, n, &key);
            if (!status.ok()) absl::SleepFor(absl::Milliseconds(50));
          } while (!status.ok() && Retryable(status) && absl::Now() < deadline);
          ++figures[started_in].calls;
          if (status.ok()) {
            absl::MutexLock lock(&service->mu);
            service->acked.insert(key);
            service->acked_request_ids.insert(request_id);
          } else {
            ++figures[started_in].failed_after_retries;
            ADD_FAILURE() << service->name << " " << request_id << ": " << status.error_code()
                          << " " << status.error_message();
          }
        }
      });
    }
    // A reader per service, retried like the writes.
    clients.emplace_back([&, service] {
      std::mt19937 random(7);
      while (!stop.load()) {
        const int started_in = std::min(phase.load(), 1);
        const absl::Time deadline = absl::Now() + absl::Seconds(60);
        grpc::Status status;
        do {
          status = service->read(random);
          if (!status.ok()) absl::SleepFor(absl::Milliseconds(50));
        } while (!status.ok() && Retryable(status) && absl::Now() < deadline);
        ++figures[started_in].calls;
        if (!status.ok()) {
          ++figures[started_in].failed_after_retries;
          ADD_FAILURE() << service->name << " read: " << status.error_code() << " "
                        << status.error_message();
        }
        absl::SleepFor(absl::Milliseconds(20));
      }
    });
  }

  // The watcher, moved between the registry's replicas.
  Service& registry = *services_[0];
  std::atomic<int64_t> watch_last{0};
  std::atomic<int> watch_gaps{0}, watch_duplicates{0}, watch_moves{0};
  std::atomic<bool> watch_stop{false};
  absl::Mutex watch_mu;
  grpc::ClientContext* watch_context ABSL_GUARDED_BY(watch_mu) = nullptr;
  std::thread watcher([&] {
    for (int at = 0; !watch_stop.load(); at = (at + 1) % replicas_count_) {
      auto stub = reg::RegistryService::NewStub(ChannelTo(registry.replicas[at]->address()));
      grpc::ClientContext context;
      {
        absl::MutexLock lock(&watch_mu);
        watch_context = &context;
      }
      reg::WatchChangesRequest request;
      request.set_after_sequence(watch_last.load());
      auto reader = stub->WatchChanges(&context, request);
      reg::Change change;
      while (reader->Read(&change)) {
        const int64_t last = watch_last.load();
        if (change.sequence() <= last) {
          ++watch_duplicates;
        } else {
          if (change.sequence() != last + 1) ++watch_gaps;
          watch_last = change.sequence();
        }
      }
      reader->Finish().ok();
      {
        absl::MutexLock lock(&watch_mu);
        watch_context = nullptr;
      }
      ++watch_moves;
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
  std::thread mover([&] {
    while (!watch_stop.load()) {
      absl::SleepFor(absl::Seconds(3));
      absl::MutexLock lock(&watch_mu);
      if (watch_context != nullptr) watch_context->TryCancel();
    }
  });

  // Phase 1: kill -9 a replica every few seconds and start it again (each in turn), until every
  // replica was killed and the phase's time is up.
  const absl::Duration kill_phase = absl::Seconds(EnvInt("DORSET_CHAOS_KILL_SECONDS", 24));
  const absl::Duration kill_every = absl::Milliseconds(EnvInt("DORSET_CHAOS_KILL_EVERY_MS", 2500));
  std::vector<std::pair<Service*, int>> order;
  for (int r = 0; r < replicas_count_; ++r) {
    for (auto& service : services_) order.push_back({service.get(), r});
  }
  const absl::Time phase_end = absl::Now() + kill_phase;
  int kills = 0;
  auto everyone_killed = [&] {
    for (auto& service : services_) {
      for (int k : service->kills) {
        if (k == 0) return false;
      }
    }
    return true;
  };
  while (absl::Now() < phase_end || !everyone_killed()) {
    absl::SleepFor(kill_every);
    auto [service, r] = order[kills % order.size()];
    Replica& replica = *service->replicas[r];
    replica.Kill9();
    ++service->kills[r];
    ++kills;
    absl::SleepFor(absl::Milliseconds(300));
    replica.Start();
    ASSERT_TRUE(WaitServing(*service, replica)) << service->name << r << " did not restart";
  }
  const int acked_after_kills = [&] {
    int n = 0;
    for (auto& service : services_) {
      absl::MutexLock lock(&service->mu);
      n += static_cast<int>(service->acked.size());
    }
    return n;
  }();

  // Phase 2: a rolling restart, one replica at a time, SIGTERM with drain.
  phase = 1;
  int clean_exits = 0;
  for (auto& service : services_) {
    for (auto& replica : service->replicas) {
      const int status = replica->Terminate();
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++clean_exits;
      replica->Start();
      ASSERT_TRUE(WaitServing(*service, *replica)) << service->name << " did not restart";
      absl::SleepFor(absl::Milliseconds(500));  // let the clients' channels see it again
    }
  }
  phase = 2;
  stop = true;
  for (std::thread& t : clients) t.join();
  // The watcher catches up with the end of the feed (bounded wait), then stops.
  auto latest_sequence = [&]() -> int64_t {
    auto stub = reg::RegistryService::NewStub(services_[0]->channel);
    grpc::ClientContext context;
    reg::ListChangesRequest request;
    request.set_page_size(1);
    reg::ListChangesResponse response;
    if (!stub->ListChanges(WithDeadline(&context), request, &response).ok()) return -1;
    return response.latest_sequence();
  };
  const int64_t latest = latest_sequence();
  ASSERT_GT(latest, 0);
  WaitFor([&] { return watch_last.load() >= latest; }, absl::Seconds(30));
  watch_stop = true;
  mover.join();
  {
    absl::MutexLock lock(&watch_mu);
    if (watch_context != nullptr) watch_context->TryCancel();
  }
  watcher.join();

  // Verification, through the restarted replicas.
  int total_acked = 0, lost = 0, duplicated = 0, unaudited = 0;
  for (auto& service : services_) {
    std::map<std::string, int> stored = service->stored();
    // Every acknowledged write is in the one audit trail, whichever replica served it (and
    // whether that replica was killed afterwards).
    const std::set<std::string> audited = AuditedOk(*service);
    absl::MutexLock lock(&service->mu);
    int service_lost = 0, service_dup = 0;
    for (const std::string& key : service->acked) {
      auto it = stored.find(key);
      if (it == stored.end()) {
        ++service_lost;
        ADD_FAILURE() << service->name << ": acknowledged write lost: " << key;
      }
    }
    for (const auto& [key, count] : stored) {
      if (count > 1) {
        ++service_dup;
        ADD_FAILURE() << service->name << ": stored " << count << " times: " << key;
      }
    }
    int service_unaudited = 0;
    for (const std::string& id : service->acked_request_ids) {
      if (!audited.contains(id)) {
        ++service_unaudited;
        ADD_FAILURE() << service->name << ": acknowledged write not in the audit trail: " << id;
      }
    }
    unaudited += service_unaudited;
    std::cout << service->name << ": acknowledged " << service->acked.size() << ", stored "
              << stored.size() << ", lost " << service_lost << ", duplicated " << service_dup
              << ", not audited " << service_unaudited << ", kills per replica";
    for (int k : service->kills) std::cout << " " << k;
    std::cout << "\n";
    EXPECT_GE(static_cast<int>(service->acked.size()), kMinAcked) << service->name;
    for (int k : service->kills) EXPECT_GE(k, 1) << service->name;
    total_acked += static_cast<int>(service->acked.size());
    lost += service_lost;
    duplicated += service_dup;
  }
  // The watcher saw the whole feed once.
  std::cout << "chaos: " << services_count_ << " services x " << replicas_count_
            << " replicas; kill -9: " << kills << " (acknowledged writes by then "
            << acked_after_kills << "); rolling restart: " << clean_exits << " clean exits of "
            << services_count_ * replicas_count_ << "\n"
            << "chaos: acknowledged writes " << total_acked << ", lost " << lost << ", duplicated "
            << duplicated << ", not in the audit trail " << unaudited << "; calls "
            << figures[0].calls.load() << " (kill phase) failed after retries "
            << figures[0].failed_after_retries.load() << "; calls " << figures[1].calls.load()
            << " (rolling restart) failed after retries " << figures[1].failed_after_retries.load()
            << "\n"
            << "chaos: watch moved " << watch_moves.load() << " times, last sequence "
            << watch_last.load() << " of " << latest << ", gaps " << watch_gaps.load()
            << ", duplicates " << watch_duplicates.load() << "\n";
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(unaudited, 0);
  EXPECT_EQ(figures[1].failed_after_retries.load(), 0);
  EXPECT_EQ(clean_exits, services_count_ * replicas_count_);
  EXPECT_EQ(watch_gaps.load(), 0);
  EXPECT_EQ(watch_duplicates.load(), 0);
  EXPECT_GE(watch_moves.load(), 2);
  EXPECT_EQ(watch_last.load(), latest) << "the watcher did not reach the end of the feed";
}

}  // namespace
}  // namespace dorset::replicas
