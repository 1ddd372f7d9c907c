// `dorset-store copy --service registry` (docs/storage.md, the copy tool), with the real
// binaries: a registry store on SQLite filled through the API (the Dorset localities and
// practices imported, a practice created and updated with request ids) is copied to PostgreSQL
// by the real dorset-store, verified (change feed, revisions), and the real dorset-registry
// started on the copy serves the same clusters, localities, practices, revisions and change feed
// through gRPC as one started on the source, answers a retried request id with the first reply
// and continues the change feed after the copied sequence. A re-run writes nothing; a target
// holding other data is refused naming why; PostgreSQL → SQLite and SQLite → SQLite copies come
// back equal to the source.
#include <sys/wait.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "runtime/testing/postgres_server.h"
#include "runtime/testing/redis_server.h"  // FreePort
#include "runtime/testing/server_process.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "tests/registry/registry_test_env.h"
#include "tests/runtime/storage/engines.h"

namespace dorset::registry::testing {
namespace {

using dorset::testing::FreePort;
using dorset::testing::LocalChannel;
using dorset::testing::ServerProcess;
using dorset::testing::TempDir;

// Runs the real dorset-store; returns its exit code and puts stdout+stderr in `output`.
int RunStore(const std::string& args, std::string& output) {
  const std::string command = absl::StrCat(DORSET_STORE_BINARY, " ", args, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  output.clear();
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Copy(const std::string& from, const std::string& to) {
  return absl::StrCat("copy --service registry --from ", from, " --to ", to);
}

// A registry store on SQLite under `dir`, filled through the API; the practice Y90001 is created
// with request id "copy-create" and updated with "copy-update" (revision 2).
void Fill(const std::string& dir) {
  auto env = RegistryEnv::Start({}, dir);
  ASSERT_NE(env, nullptr);
  ASSERT_NO_FATAL_FAILURE(env->LoadDorset());
  ASSERT_TRUE(env->Create(NewPractice("Y90001"), "copy-create").ok());
  grpc::ClientContext context;
  v1::UpdatePracticeRequest update;
  *update.mutable_practice() = NewPractice("Y90001", "RENAMED SURGERY");
  update.mutable_practice()->set_name("practices/Y90001");
  update.mutable_update_mask()->add_paths("display_name");
  update.set_request_id("copy-update");
  v1::Practice updated;
  grpc::Status status = env->stub().UpdatePractice(&context, update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

// Everything a client can list, read through the API (page tokens left out: they are signed
// per process).
struct Served {
  std::vector<v1::Cluster> clusters;
  std::vector<v1::Locality> localities;
  std::vector<v1::Practice> practices;
  std::vector<v1::Change> changes;
  std::vector<v1::PracticeRevision> revisions;  // of Y90001
  int64_t latest_sequence = 0;
};

template <typename Item, typename Request, typename Response, typename Call, typename ItemsOf>
void ListAll(Request request, Call call, ItemsOf items_of, std::vector<Item>& out) {
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    Response response;
    grpc::Status status = call(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const Item& item : items_of(response)) out.push_back(item);
    if (response.next_page_token().empty()) return;
    request.set_page_token(response.next_page_token());
  }
}

Served Read(v1::RegistryService::Stub& stub) {
  Served served;
  v1::ListClustersRequest clusters;
  clusters.set_page_size(1000);
  ListAll<v1::Cluster, v1::ListClustersRequest, v1::ListClustersResponse>(
      clusters, [&](auto* c, auto& rq, auto* rs) { return stub.ListClusters(c, rq, rs); },
      [](const auto& r) { return r.clusters(); }, served.clusters);
  v1::ListLocalitiesRequest localities;
  localities.set_page_size(1000);
  ListAll<v1::Locality, v1::ListLocalitiesRequest, v1::ListLocalitiesResponse>(
      localities, [&](auto* c, auto& rq, auto* rs) { return stub.ListLocalities(c, rq, rs); },
      [](const auto& r) { return r.localities(); }, served.localities);
  v1::ListPracticesRequest practices;
  practices.set_page_size(1000);
  ListAll<v1::Practice, v1::ListPracticesRequest, v1::ListPracticesResponse>(
      practices, [&](auto* c, auto& rq, auto* rs) { return stub.ListPractices(c, rq, rs); },
      [](const auto& r) { return r.practices(); }, served.practices);
  v1::ListChangesRequest changes;
  changes.set_page_size(1000);
  ListAll<v1::Change, v1::ListChangesRequest, v1::ListChangesResponse>(
      changes,
      [&](auto* c, auto& rq, auto* rs) {
        grpc::Status status = stub.ListChanges(c, rq, rs);
        served.latest_sequence = rs->latest_sequence();
        return status;
      },
      [](const auto& r) { return r.changes(); }, served.changes);
  v1::ListPracticeRevisionsRequest revisions;
  revisions.set_name("practices/Y90001");
  revisions.set_page_size(100);
  ListAll<v1::PracticeRevision, v1::ListPracticeRevisionsRequest,
          v1::ListPracticeRevisionsResponse>(
      revisions, [&](auto* c, auto& rq, auto* rs) { return stub.ListPracticeRevisions(c, rq, rs); },
      [](const auto& r) { return r.revisions(); }, served.revisions);
  return served;
}

template <typename Message>
void ExpectSame(const std::vector<Message>& a, const std::vector<Message>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a[i], b[i]))
        << what << " " << i << ":\n"
        << a[i].DebugString() << "vs\n"
        << b[i].DebugString();
  }
}

void ExpectSameServed(const Served& a, const Served& b) {
  ExpectSame(a.clusters, b.clusters, "cluster");
  ExpectSame(a.localities, b.localities, "locality");
  ExpectSame(a.practices, b.practices, "practice");
  ExpectSame(a.changes, b.changes, "change");
  ExpectSame(a.revisions, b.revisions, "revision");
  EXPECT_EQ(a.latest_sequence, b.latest_sequence);
}

// The real dorset-registry on `database`, ready.
struct Registry {
  Registry(const std::string& data_dir, const std::string& database)
      : process(DORSET_REGISTRY_BINARY, data_dir, FreePort(), database),
        stub(v1::RegistryService::NewStub(LocalChannel(process.port()))) {
    ready = process.WaitReady([&] {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      v1::ListClustersResponse response;
      return stub->ListClusters(&context, v1::ListClustersRequest(), &response).ok();
    });
  }
  ServerProcess process;
  std::unique_ptr<v1::RegistryService::Stub> stub;
  bool ready = false;
};

TEST(RegistryStoreCopyPostgres, TheCopyServesTheSameThroughTheRealServiceAndRerunsSafely) {
  DORSET_REQUIRE_POSTGRES(dorset::testing::PostgresServer::Shared(), pg);
  TempDir source_dir, pg_dir, back_dir;
  ASSERT_NO_FATAL_FAILURE(Fill(source_dir.path()));
  const std::string source = "sqlite://" + source_dir.path() + "/registry.db";
  auto target = pg->CreateDatabase();
  ASSERT_TRUE(target.ok()) << target.status();

  std::string out;
  ASSERT_EQ(RunStore(Copy(source, *target), out), 0) << out;
  std::cout << out << std::flush;  // the report, for the test log (flushed before any fork)
  EXPECT_NE(out.find("verified"), std::string::npos) << out;
  EXPECT_NE(out.find("check change feed: highest sequence, changes, next sequence after: equal"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("check practice revisions: sum, highest, revision rows: equal"),
            std::string::npos)
      << out;

  // The same data through the same API, from the real binary on each store.
  Served from_source;
  {
    Registry registry(source_dir.path(), source);
    ASSERT_TRUE(registry.ready);
    from_source = Read(*registry.stub);
  }
  ASSERT_GT(from_source.practices.size(), 50u);
  ASSERT_GT(from_source.changes.size(), 50u);
  ASSERT_EQ(from_source.revisions.size(), 2u);
  EXPECT_NE(out.find(absl::StrCat("table practice: ", from_source.practices.size(),
                                  " rows in source, ", from_source.practices.size(), " in target")),
            std::string::npos)
      << out;
  {
    Registry registry(pg_dir.path(), *target);
    ASSERT_TRUE(registry.ready);
    ExpectSameServed(Read(*registry.stub), from_source);
  }

  // A re-run finds exactly the copy: nothing written, verified again.
  ASSERT_EQ(RunStore(Copy(source, *target), out), 0) << out;
  EXPECT_NE(out.find("nothing written"), std::string::npos) << out;
  EXPECT_NE(out.find("verified"), std::string::npos) << out;

  // PostgreSQL → SQLite, and that copy holds exactly the source (copying the source onto it
  // writes nothing).
  const std::string back = "sqlite://" + back_dir.path() + "/registry.db";
  ASSERT_EQ(RunStore(Copy(*target, back), out), 0) << out;
  EXPECT_NE(out.find("verified"), std::string::npos) << out;
  ASSERT_EQ(RunStore(Copy(source, back), out), 0) << out;
  EXPECT_NE(out.find("nothing written"), std::string::npos) << out;

  {
    Registry registry(pg_dir.path(), *target);
    ASSERT_TRUE(registry.ready);
    // A retried request id is answered from the copied record, with the first reply.
    grpc::ClientContext context;
    v1::CreatePracticeRequest retry;
    *retry.mutable_practice() = NewPractice("Y90001");
    retry.set_request_id("copy-create");
    v1::Practice replied;
    grpc::Status status = registry.stub->CreatePractice(&context, retry, &replied);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(replied.display_name(), "TEST SURGERY");
    // A new write continues the copied change feed.
    grpc::ClientContext create_context;
    v1::CreatePracticeRequest create;
    *create.mutable_practice() = NewPractice("Y90002");
    v1::Practice created;
    status = registry.stub->CreatePractice(&create_context, create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
    const Served after = Read(*registry.stub);
    ASSERT_EQ(after.changes.size(), from_source.changes.size() + 1);
    EXPECT_EQ(after.changes.back().sequence(), from_source.latest_sequence + 1);
  }

  // The target now holds other data than the source: refused, naming why, nothing written.
  ASSERT_EQ(RunStore(Copy(source, *target), out), 1) << out;
  EXPECT_NE(out.find("FAILED_PRECONDITION: the target already holds other registry data "
                     "(table practice: "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("copy only into an empty database or one holding exactly this copy"),
            std::string::npos)
      << out;
  {
    Registry registry(pg_dir.path(), *target);
    ASSERT_TRUE(registry.ready);
    EXPECT_EQ(Read(*registry.stub).practices.size(), from_source.practices.size() + 1);
  }
}

TEST(RegistryStoreCopyTool, SqliteToSqliteVerifiesAndRefusesADifferentTarget) {
  TempDir source_dir, copy_dir, other_dir;
  ASSERT_NO_FATAL_FAILURE(Fill(source_dir.path()));
  {
    // Another store with one practice of its own.
    auto env = RegistryEnv::Start({}, other_dir.path());
    ASSERT_NE(env, nullptr);
    ASSERT_TRUE(env->Create(NewPractice("Y90009")).ok());
  }
  const std::string source = "sqlite://" + source_dir.path() + "/registry.db";
  const std::string copy = "sqlite://" + copy_dir.path() + "/registry.db";
  std::string out;
  ASSERT_EQ(RunStore(Copy(source, copy), out), 0) << out;
  EXPECT_NE(out.find("copied\n"), std::string::npos) << out;
  EXPECT_NE(out.find("verified"), std::string::npos) << out;
  ASSERT_EQ(RunStore(Copy(source, copy), out), 0) << out;
  EXPECT_NE(out.find("nothing written"), std::string::npos) << out;
  ASSERT_EQ(RunStore(Copy(source, "sqlite://" + other_dir.path() + "/registry.db"), out), 1) << out;
  EXPECT_NE(out.find("the target already holds other registry data"), std::string::npos) << out;

  // The copy serves what the source serves.
  Served from_source;
  {
    Registry registry(source_dir.path(), source);
    ASSERT_TRUE(registry.ready);
    from_source = Read(*registry.stub);
  }
  Registry registry(copy_dir.path(), copy);
  ASSERT_TRUE(registry.ready);
  ExpectSameServed(Read(*registry.stub), from_source);
}

}  // namespace
}  // namespace dorset::registry::testing
