// The registry's domain (services/registry/domain) without gRPC: its rules, validation and
// orchestration called directly over a real store (this run's engine), real caches (an
// in-process LruCache as the shared cache) and a real ChangeHub. No channel, no server.
#include "services/registry/domain/registry_domain.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "runtime/cache/lru_cache.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_engine.h"
#include "services/registry/change_hub.h"
#include "services/registry/domain/commit_effects.h"
#include "services/registry/registry_cache.h"
#include "services/registry/storage/store.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry {
namespace {

using testing::NewPractice;

// Counts the hub's wake-ups: the domain's commits reach the watchers through CommitEffects.
class CountingWatcher final : public ChangeWatcher {
 public:
  void Wake() override {
    if (wakes_.fetch_add(1) == 0) woken_.Notify();
  }
  void EndForShutdown() override {}
  bool WaitForWake() { return woken_.WaitForNotificationWithTimeout(absl::Seconds(30)); }

 private:
  std::atomic<int> wakes_{0};
  absl::Notification woken_;
};

class RegistryDomainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(dir_.path());
    ASSERT_TRUE(database.ok()) << database.status();
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(*database, dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    cache_ = std::make_unique<RegistryCache>(shared_, absl::Minutes(5));
    effects_ = std::make_unique<CommitEffects>(*store_, *cache_, hub_);
    domain_ = std::make_unique<RegistryDomain>(*store_, *cache_, *effects_,
                                               runtime::PageTokenCodec("domain-test-key"));
    caller_.principal = "clerk";
  }
  void TearDown() override { hub_.Shutdown(); }

  absl::Status Create(const v1::Practice& practice, v1::Practice* out,
                      const std::string& request_id = "") {
    v1::CreatePracticeRequest request;
    *request.mutable_practice() = practice;
    request.set_request_id(request_id);
    return domain_->CreatePractice(caller_, request, out);
  }
  absl::StatusOr<v1::Practice> Get(const std::string& code) {
    v1::GetPracticeRequest request;
    request.set_name("practices/" + code);
    v1::Practice out;
    absl::Status status = domain_->GetPractice(request, &out);
    if (!status.ok()) return status;
    return out;
  }

  dorset::testing::TempDir dir_;
  runtime::LruCache shared_{1000};
  ChangeHub hub_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<RegistryCache> cache_;
  std::unique_ptr<CommitEffects> effects_;
  std::unique_ptr<RegistryDomain> domain_;
  runtime::Caller caller_;
};

TEST_F(RegistryDomainTest, CreateRefusesBadFieldsByNameAndWritesNothing) {
  v1::Practice bad = NewPractice("X10001");
  bad.set_postcode("NOT A POSTCODE");
  bad.set_prescribing_setting(120);
  bad.set_successor("practices/X10002");
  v1::Practice out;
  absl::Status status = Create(bad, &out);
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  for (const char* field :
       {"practice.postcode", "practice.prescribing_setting", "practice.successor"}) {
    EXPECT_NE(std::string(status.ToString()).find(field), std::string::npos) << field << status;
  }
  EXPECT_EQ(Get("X10001").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryDomainTest, CreateNormalisesStoresOnceAndWakesTheWatchers) {
  CountingWatcher watcher;
  ASSERT_TRUE(hub_.Add(&watcher));
  v1::Practice created;
  ASSERT_TRUE(Create(NewPractice("X10001"), &created).ok());
  EXPECT_EQ(created.name(), "practices/X10001");
  EXPECT_EQ(created.postcode(), "BH15 1AA");  // normalised
  EXPECT_FALSE(created.etag().empty());
  EXPECT_TRUE(watcher.WaitForWake());
  hub_.Remove(&watcher);

  v1::Practice again;
  EXPECT_EQ(Create(NewPractice("X10001"), &again).code(), absl::StatusCode::kAlreadyExists);
  absl::StatusOr<v1::Practice> read = Get("X10001");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->etag(), created.etag());
}

TEST_F(RegistryDomainTest, UpdateChecksTheEtagAndTheCachedReadFollowsTheCommit) {
  v1::Practice created;
  ASSERT_TRUE(Create(NewPractice("X10001"), &created).ok());
  ASSERT_TRUE(Get("X10001").ok());  // fills the in-process cache

  v1::UpdatePracticeRequest update;
  update.mutable_practice()->set_name("practices/X10001");
  update.mutable_practice()->set_display_name("RENAMED SURGERY");
  update.mutable_practice()->set_etag(created.etag());
  update.mutable_update_mask()->add_paths("display_name");
  v1::Practice updated;
  ASSERT_TRUE(domain_->UpdatePractice(caller_, update, &updated).ok());
  EXPECT_EQ(updated.display_name(), "RENAMED SURGERY");
  EXPECT_NE(updated.etag(), created.etag());
  // The commit invalidated the cached practice (CommitEffects): the read sees the update.
  absl::StatusOr<v1::Practice> read = Get("X10001");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->display_name(), "RENAMED SURGERY");

  // The old etag is stale now.
  v1::Practice stale;
  EXPECT_EQ(domain_->UpdatePractice(caller_, update, &stale).code(), absl::StatusCode::kAborted);
  // Closing goes through ClosePractice, not an update of the status.
  update.mutable_practice()->set_etag("");
  update.mutable_practice()->set_status(v1::Practice::STATUS_CLOSED);
  update.mutable_update_mask()->add_paths("status");
  EXPECT_EQ(domain_->UpdatePractice(caller_, update, &stale).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryDomainTest, CloseFollowsTheSuccessorRules) {
  v1::Practice a, b;
  ASSERT_TRUE(Create(NewPractice("X10001"), &a).ok());
  ASSERT_TRUE(Create(NewPractice("X10002"), &b).ok());
  v1::ClosePracticeRequest close;
  close.set_name("practices/X10001");
  close.set_close_date("2025-01-31");
  v1::Practice out;

  close.set_successor("practices/X10001");
  EXPECT_EQ(domain_->ClosePractice(caller_, close, &out).code(),
            absl::StatusCode::kInvalidArgument);
  close.set_successor("practices/X19999");
  EXPECT_EQ(domain_->ClosePractice(caller_, close, &out).code(),
            absl::StatusCode::kFailedPrecondition);
  close.set_successor("practices/X10002");
  ASSERT_TRUE(domain_->ClosePractice(caller_, close, &out).ok());
  EXPECT_EQ(out.status(), v1::Practice::STATUS_CLOSED);
  EXPECT_EQ(out.successor(), "practices/X10002");
  EXPECT_TRUE(out.closed_ahead_of_ods());
  EXPECT_EQ(domain_->ClosePractice(caller_, close, &out).code(),
            absl::StatusCode::kFailedPrecondition);  // already closed
}

TEST_F(RegistryDomainTest, ARequestIdIsAnsweredOnceAndRefusedToAnotherCaller) {
  v1::Practice first, retry;
  ASSERT_TRUE(Create(NewPractice("X10001"), &first, "req-domain-1").ok());
  ASSERT_TRUE(Create(NewPractice("X10001"), &retry, "req-domain-1").ok());  // not ALREADY_EXISTS
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  caller_.principal = "someone-else";
  v1::Practice other;
  EXPECT_EQ(Create(NewPractice("X10001"), &other, "req-domain-1").code(),
            absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace dorset::registry
