#include "tests/registry/registry_test_env.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "runtime/status/grpc_status.h"
#include "runtime/status/status_macros.h"
#include "runtime/testing/test_engine.h"
#include "runtime/testing/test_host.h"
#include "services/registry/change_follower.h"
#include "services/registry/storage/store.h"

namespace dorset::registry::testing {
namespace {

// DORSET_TEST_ENGINE=postgres (the …/postgres copy of every case, tests/registry/CMakeLists.txt)
// needs the PostgreSQL harness: without it every case skips locally and fails under CI=true.
class EngineEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!dorset::testing::TestEngineIsPostgres()) return;
    absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor("<probe>");
    if (database.ok()) return;
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
      FAIL() << "no PostgreSQL: " << database.status();
    }
    GTEST_SKIP() << "no PostgreSQL (" << database.status() << "); CI=true would fail";
  }
};

[[maybe_unused]] ::testing::Environment* const kEngineEnvironment =
    ::testing::AddGlobalTestEnvironment(new EngineEnvironment);

}  // namespace

absl::Status UseTestEngine(runtime::ServerConfig& config) {
  ASSIGN_OR_RETURN(config.database, dorset::testing::TestDatabaseFor(config.data_dir));
  return absl::OkStatus();
}

std::string SourceFile(const std::string& relative) {
  std::ifstream in(std::string(DORSET_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << relative;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::unique_ptr<RegistryEnv> RegistryEnv::Start(
    EnvOptions options, const std::string& data_dir,
    const std::vector<dorset::testing::TestToken>& tokens) {
  std::unique_ptr<RegistryEnv> env(new RegistryEnv());
  runtime::ServerConfig config =
      dorset::testing::TestServerConfig("registry", data_dir.empty() ? env->dir_.path() : data_dir);
  const absl::Status engine = UseTestEngine(config);
  EXPECT_TRUE(engine.ok()) << engine;
  if (!engine.ok()) return nullptr;
  if (!tokens.empty()) {
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = env->dir_.File("tokens");
    dorset::testing::WriteTokensFile(config.tokens_file, tokens);
  }
  if (options.redis) {
    auto redis = dorset::testing::RedisServer::Start();
    EXPECT_TRUE(redis.ok()) << redis.status();
    if (!redis.ok()) return nullptr;
    env->redis_ = *std::move(redis);
    config.redis = env->redis_->address();
  }
  auto module = std::make_unique<RegistryModule>();
  env->module_ = module.get();
  auto host = runtime::ServiceHost::Start(config, std::move(module));
  EXPECT_TRUE(host.ok()) << host.status();
  if (!host.ok()) return nullptr;
  env->host_ = *std::move(host);
  env->channel_ = dorset::testing::LocalChannel(env->host_->grpc_port());
  env->stub_ = v1::RegistryService::NewStub(env->channel_);
  return env;
}

RegistryEnv::~RegistryEnv() {
  if (host_) host_->Shutdown();
}

absl::StatusOr<v1::ImportReport> RegistryEnv::Import(v1::ImportKind kind,
                                                     const std::string& content,
                                                     const std::string& commissioner,
                                                     const std::string& request_id,
                                                     bool validate_only) {
  grpc::ClientContext context;
  v1::ImportReport report;
  auto writer = stub_->ImportFile(&context, &report);
  v1::ImportFileRequest chunk;
  chunk.mutable_options()->set_kind(kind);
  chunk.mutable_options()->set_commissioner(commissioner);
  chunk.mutable_options()->set_request_id(request_id);
  chunk.mutable_options()->set_validate_only(validate_only);
  chunk.mutable_options()->set_size_bytes(static_cast<int64_t>(content.size()));
  // Small chunks, so records cross chunk boundaries.
  constexpr size_t kChunk = 256 * 1024;
  size_t offset = 0;
  do {
    chunk.set_data(content.substr(offset, kChunk));
    offset += kChunk;
    if (!writer->Write(chunk)) break;
    chunk.Clear();
  } while (offset < content.size());
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return runtime::FromGrpcStatus(status);
  return report;
}

void RegistryEnv::LoadDorset() {
  ASSERT_TRUE(Import(v1::IMPORT_KIND_LOCALITIES, SourceFile("data/dorset/localities.csv")).ok());
  ASSERT_TRUE(
      Import(v1::IMPORT_KIND_PRACTICE_LOCALITIES, SourceFile("data/dorset/practice-localities.csv"))
          .ok());
  ASSERT_TRUE(Import(v1::IMPORT_KIND_EPRACCUR, SourceFile("data/ods/epraccur-2025-05.csv")).ok());
  ASSERT_TRUE(
      Import(v1::IMPORT_KIND_LIST_SIZES, SourceFile("data/ods/gp-reg-pat-prac-all-2021-01.csv"))
          .ok());
  WaitForTheChangeFollower();
}

void RegistryEnv::WaitForTheChangeFollower() {
  ChangeFollower* follower = module_->follower();
  if (follower == nullptr) return;  // SQLite: one process, no follower
  const absl::StatusOr<int64_t> latest = module_->store()->LatestSequence();
  ASSERT_TRUE(latest.ok()) << latest.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (follower->seen() < *latest && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GE(follower->seen(), *latest) << "the change follower never read past the writes";
}

absl::StatusOr<v1::Practice> RegistryEnv::Get(const std::string& code) {
  grpc::ClientContext context;
  v1::GetPracticeRequest request;
  request.set_name("practices/" + code);
  v1::Practice practice;
  grpc::Status status = stub_->GetPractice(&context, request, &practice);
  if (!status.ok()) return runtime::FromGrpcStatus(status);
  return practice;
}

absl::StatusOr<v1::Practice> RegistryEnv::Create(const v1::Practice& practice,
                                                 const std::string& request_id) {
  grpc::ClientContext context;
  v1::CreatePracticeRequest request;
  *request.mutable_practice() = practice;
  request.set_request_id(request_id);
  v1::Practice created;
  grpc::Status status = stub_->CreatePractice(&context, request, &created);
  if (!status.ok()) return runtime::FromGrpcStatus(status);
  return created;
}

v1::Practice NewPractice(const std::string& code, const std::string& name) {
  v1::Practice p;
  p.set_ods_code(code);
  p.set_display_name(name);
  p.add_address_lines("1 HIGH STREET");
  p.add_address_lines("POOLE");
  p.set_postcode("bh15 1aa");
  p.set_status(v1::Practice::STATUS_ACTIVE);
  p.set_open_date("2024-04-01");
  p.set_prescribing_setting(4);
  p.set_commissioner("11J");
  p.set_icb("QVV");
  p.set_region("Y58");
  return p;
}

}  // namespace dorset::registry::testing
