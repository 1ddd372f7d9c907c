// The registry on the storage lane's one idempotency record (runtime/storage/idempotency.h,
// docs/storage.md "Idempotency"), on the engine of this test run (…/sqlite, …/postgres): a retry
// by the same caller is answered with the first reply and writes once; the same id with other
// content, or from another caller (even with the identical request), is ALREADY_EXISTS with
// reason REQUEST_ID_REUSED and writes nothing; a `request` row from before the record (SQLite
// step 6, PostgreSQL step 2) moves over with principal '' and is refused on a retry rather than
// answered with a reply that may be another caller's.
#include <memory>
#include <span>
#include <string>

#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "registry_migrations.h"
#include "runtime/api/request_id.h"
#include "runtime/status/grpc_status.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database_url.h"
#include "runtime/storage/open.h"
#include "runtime/testing/test_engine.h"
#include "runtime/testing/test_host.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

namespace storage = runtime::storage;

std::string Reason(const grpc::Status& status) {
  const google::rpc::Status details = runtime::DecodeDetails(status);
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

v1::CreatePracticeRequest CreateRequest(const std::string& code, const std::string& request_id) {
  v1::CreatePracticeRequest request;
  *request.mutable_practice() = NewPractice(code);
  request.set_request_id(request_id);
  return request;
}

grpc::Status Create(v1::RegistryService::Stub& stub, const std::string& token,
                    const v1::CreatePracticeRequest& request, v1::Practice* out) {
  grpc::ClientContext context;
  if (!token.empty()) dorset::testing::AddBearer(context, token);
  return stub.CreatePractice(&context, request, out);
}

// The whole change feed's length, read as `token`'s caller.
int Changes(v1::RegistryService::Stub& stub, const std::string& token) {
  grpc::ClientContext context;
  if (!token.empty()) dorset::testing::AddBearer(context, token);
  v1::ListChangesRequest request;
  request.set_page_size(1000);
  v1::ListChangesResponse response;
  grpc::Status status = stub.ListChanges(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.changes_size();
}

TEST(RegistryIdempotency, ARetryIsAnsweredOnceAndAnotherCallersIdOrContentIsRefused) {
  auto env = RegistryEnv::Start(
      {}, "",
      {{"alice-secret", "alice", "registry-editor"}, {"bob-secret", "bob", "registry-editor"}});
  ASSERT_NE(env, nullptr);
  v1::RegistryService::Stub& stub = env->stub();
  const v1::CreatePracticeRequest request = CreateRequest("X10001", "shared-id");

  v1::Practice first, retry;
  grpc::Status status = Create(stub, "alice-secret", request, &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(Changes(stub, "alice-secret"), 1);
  // The same caller's retry: the first reply, nothing written again.
  status = Create(stub, "alice-secret", request, &retry);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(Changes(stub, "alice-secret"), 1);

  // Another caller sending the identical request with the same id: refused, never answered with
  // alice's reply.
  v1::Practice other;
  status = Create(stub, "bob-secret", request, &other);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();
  EXPECT_EQ(Reason(status), runtime::kRequestIdReused);
  EXPECT_EQ(other.ods_code(), "");
  // The same caller with other content: refused.
  status = Create(stub, "alice-secret", CreateRequest("X10002", "shared-id"), &other);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();
  EXPECT_EQ(Reason(status), runtime::kRequestIdReused);
  // The same id on another method: refused.
  grpc::ClientContext context;
  dorset::testing::AddBearer(context, "alice-secret");
  v1::UpdatePracticeRequest update;
  update.mutable_practice()->set_name("practices/X10001");
  update.mutable_practice()->set_display_name("RENAMED");
  update.mutable_update_mask()->add_paths("display_name");
  update.set_request_id("shared-id");
  status = stub.UpdatePractice(&context, update, &other);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();
  EXPECT_EQ(Reason(status), runtime::kRequestIdReused);
  EXPECT_EQ(Changes(stub, "alice-secret"), 1);  // nothing of the refused calls written

  // Bob's own id is his: created once, retried once.
  status = Create(stub, "bob-secret", CreateRequest("X10003", "bobs-id"), &other);
  ASSERT_TRUE(status.ok()) << status.error_message();
  status = Create(stub, "bob-secret", CreateRequest("X10003", "bobs-id"), &other);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Changes(stub, "bob-secret"), 2);
}

// The registry's steps before the record: SQLite 1-5, PostgreSQL 1.
std::span<const storage::Migration> BeforeTheRecord(storage::Engine engine) {
  std::span<const storage::Migration> all = migrations::RegistryMigrations(engine);
  return all.first(engine == storage::Engine::kSqlite ? 5 : 1);
}

absl::StatusOr<std::unique_ptr<storage::Database>> OpenAt(const std::string& data_dir,
                                                          storage::MigrationsFor steps) {
  ASSIGN_OR_RETURN(std::string database, dorset::testing::TestDatabaseFor(data_dir));
  ASSIGN_OR_RETURN(storage::DatabaseUrl url,
                   storage::ParseDatabaseUrl(database, data_dir, "registry"));
  return storage::OpenDatabase(url, {}, steps);
}

TEST(RegistryIdempotency, RequestRowsFromBeforeTheRecordMoveWithNoPrincipalAndAreRefused) {
  dorset::testing::TempDir dir;
  const v1::CreatePracticeRequest request = CreateRequest("X10042", "old-id");
  v1::Practice stored_reply = request.practice();
  stored_reply.set_name("practices/X10042");
  {
    // A store as the release before wrote it, with a request row (the hash of this request).
    auto old = OpenAt(dir.path(), BeforeTheRecord);
    ASSERT_TRUE(old.ok()) << old.status();
    absl::Status written = (*old)->Write([&](storage::Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(storage::Statement insert,
                       tx.Prepare("INSERT INTO request (request_id, method, response, create_time, "
                                  "request_hash) VALUES (?, ?, ?, ?, ?)"));
      insert.Bind(1, "old-id")
          .Bind(2, "CreatePractice")
          .BindBlob(3, stored_reply.SerializeAsString());
      insert.Bind(4, int64_t{1700000000000000}).Bind(5, runtime::RequestHash(request));
      return insert.Run();
    });
    ASSERT_TRUE(written.ok()) << written;
  }
  {
    auto env = RegistryEnv::Start({}, dir.path());  // migrates to the record
    ASSERT_NE(env, nullptr);
    // The identical request retried after the upgrade: refused (no principal to match), and the
    // practice is not created.
    v1::Practice out;
    grpc::Status status = Create(env->stub(), "", request, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << status.error_message();
    EXPECT_EQ(Reason(status), runtime::kRequestIdReused);
    EXPECT_EQ(env->Get("X10042").status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(Changes(env->stub(), ""), 0);
    // A new id works as ever.
    status = Create(env->stub(), "", CreateRequest("X10042", "new-id"), &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  // The row moved over whole, with principal ''; the old table is gone.
  auto db = OpenAt(dir.path(), migrations::RegistryMigrations);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::Status read = (*db)->Read([&](storage::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement select,
                     tx.Prepare("SELECT method, principal, request_hash, reply, create_micros "
                                "FROM idempotency_records WHERE request_id = 'old-id'"));
    ASSIGN_OR_RETURN(bool row, select.Step());
    EXPECT_TRUE(row);
    if (!row) return absl::OkStatus();
    EXPECT_EQ(select.Text(0), "CreatePractice");
    EXPECT_EQ(select.Text(1), "");
    EXPECT_EQ(select.Text(2), runtime::RequestHash(request));
    EXPECT_EQ(select.Blob(3), stored_reply.SerializeAsString());
    EXPECT_EQ(select.Int(4), 1700000000000000);
    select.Reset();
    ASSIGN_OR_RETURN(
        storage::Statement old_table,
        tx.Prepare(tx.engine() == storage::Engine::kSqlite
                       ? "SELECT COUNT(*) FROM sqlite_master WHERE name = 'request'"
                       : "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = "
                         "'request'"));
    ASSIGN_OR_RETURN(bool counted, old_table.Step());
    EXPECT_TRUE(counted);
    EXPECT_EQ(old_table.Int(0), 0);
    return absl::OkStatus();
  });
  EXPECT_TRUE(read.ok()) << read;
}

}  // namespace
}  // namespace dorset::registry::testing
