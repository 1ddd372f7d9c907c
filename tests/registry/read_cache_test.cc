// GetPractice and ListPractices answered from the response cache (issue 16,
// runtime/server/cached_unary.h): repeated reads are served from it (its metrics say so), and
// every acknowledged write — through the API or an import — is seen by the next read, also while
// other clients keep reading (a read that started before the write never puts its older reply
// back in front of later readers). Both engines; other replicas' writes are covered by
// tests/replicas/registry_replicas_test.cc.
#include <httplib.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

constexpr char kCode[] = "J81002";  // in east-dorset

// The value of a metric line starting with `prefix` on the ops port, or -1.
double Metric(runtime::ServiceHost& host, const std::string& prefix) {
  httplib::Client ops("127.0.0.1", host.ops_port());
  auto res = ops.Get("/metrics");
  if (!res || res->status != 200) return -1;
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (absl::StartsWith(line, prefix)) {
      double value = 0;
      if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) return value;
    }
  }
  return -1;
}

class ReadCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RegistryEnv::Start();
    ASSERT_NE(env_, nullptr);
    env_->LoadDorset();
  }

  // The locality's first page, as a client sees it.
  v1::ListPracticesResponse Page() {
    v1::ListPracticesRequest request;
    request.set_locality("localities/east-dorset");
    request.set_page_size(50);
    grpc::ClientContext context;
    v1::ListPracticesResponse page;
    const grpc::Status status = env_->stub().ListPractices(&context, request, &page);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return page;
  }

  static const v1::Practice* Find(const v1::ListPracticesResponse& page) {
    for (const v1::Practice& p : page.practices()) {
      if (p.ods_code() == kCode) return &p;
    }
    return nullptr;
  }

  grpc::Status Rename(const std::string& name) {
    grpc::ClientContext context;
    v1::UpdatePracticeRequest request;
    request.mutable_practice()->set_name(absl::StrCat("practices/", kCode));
    request.mutable_practice()->set_display_name(name);
    request.mutable_update_mask()->add_paths("display_name");
    v1::Practice out;
    return env_->stub().UpdatePractice(&context, request, &out);
  }

  std::unique_ptr<RegistryEnv> env_;
};

TEST_F(ReadCacheTest, RepeatedReadsAreServedFromTheCacheAndEveryWriteIsSeenNext) {
  env_->WaitForTheChangeFollower();
  const v1::ListPracticesResponse first = Page();
  ASSERT_NE(Find(first), nullptr);
  const double hits_before =
      Metric(env_->host(), "dorset_response_cache_hits_total{cache=\"registry\"}");
  for (int i = 0; i < 5; ++i) {
    const v1::ListPracticesResponse again = Page();
    EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
    ASSERT_TRUE(env_->Get(kCode).ok());
  }
  EXPECT_GE(Metric(env_->host(), "dorset_response_cache_hits_total{cache=\"registry\"}"),
            hits_before + 9);

  // A write through the API: the next page and the next GetPractice show it.
  ASSERT_TRUE(Rename("RENAMED BY THE API SURGERY").ok());
  ASSERT_NE(Find(Page()), nullptr);
  EXPECT_EQ(Find(Page())->display_name(), "RENAMED BY THE API SURGERY");
  EXPECT_EQ(env_->Get(kCode)->display_name(), "RENAMED BY THE API SURGERY");

  // A write through an import (list sizes): the same.
  const auto sizes = env_->Import(
      v1::IMPORT_KIND_LIST_SIZES,
      absl::StrCat("PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,"
                   "NUMBER_OF_PATIENTS\nGP_PRAC_PAT_LIST,01FEB2021,GP,11J,E38000045,",
                   kCode, ",BH22 9HB,ALL,ALL,12345\n"));
  ASSERT_TRUE(sizes.ok()) << sizes.status();
  ASSERT_NE(Find(Page()), nullptr);
  EXPECT_EQ(Find(Page())->list_size(), 12345);
  EXPECT_EQ(env_->Get(kCode)->list_size(), 12345);
}

TEST_F(ReadCacheTest, ReadsRacingWritesNeverShowAnOlderValueAfterTheWriteIsAcknowledged) {
  // Readers keep the cache busy (filling it, sometimes with replies computed just before a
  // write); after each acknowledged rename, a fresh read must show it.
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        Page();
        (void)env_->Get(kCode);
      }
    });
  }
  for (int n = 0; n < 25; ++n) {
    const std::string name = absl::StrCat("NAME ", n, " SURGERY");
    ASSERT_TRUE(Rename(name).ok());
    const v1::ListPracticesResponse page = Page();
    ASSERT_NE(Find(page), nullptr);
    EXPECT_EQ(Find(page)->display_name(), name) << "write " << n;
    absl::StatusOr<v1::Practice> got = env_->Get(kCode);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->display_name(), name) << "write " << n;
  }
  stop = true;
  for (std::thread& t : readers) t.join();
}

TEST_F(ReadCacheTest, BadRequestsToTheRawMethodsAreRefusedAsBefore) {
  // Not parsed as the method's message: INVALID_ARGUMENT naming the request.
  grpc::GenericStub generic(env_->channel());
  grpc::ClientContext context;
  const std::string garbage = "\xff\xff\xff\xff";
  grpc::Slice slice(garbage);
  grpc::ByteBuffer request(&slice, 1), reply;
  grpc::Status status;
  absl::Notification done;
  generic.UnaryCall(&context, "/dorset.registry.v1.RegistryService/ListPractices",
                    grpc::StubOptions(), &request, &reply, [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("does not parse"), std::string::npos);
  // Too many statuses: refused by count, as before (and never cached).
  v1::ListPracticesRequest many;
  for (int i = 0; i < 11; ++i) many.add_statuses(v1::Practice::STATUS_ACTIVE);
  for (int attempt = 0; attempt < 2; ++attempt) {
    grpc::ClientContext c;
    v1::ListPracticesResponse page;
    EXPECT_EQ(env_->stub().ListPractices(&c, many, &page).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // NOT_FOUND is not cached either: once created, the practice is found.
  EXPECT_EQ(env_->Get("Y99001").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(env_->Create(NewPractice("Y99001", "NEW SURGERY")).ok());
  EXPECT_TRUE(env_->Get("Y99001").ok());
}

}  // namespace
}  // namespace dorset::registry::testing
