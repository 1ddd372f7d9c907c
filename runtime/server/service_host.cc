#include "runtime/server/service_host.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/impl/server_builder_option.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/audit_service.h"
#include "runtime/base/thread_name.h"
#include "runtime/cache/lru_cache.h"
#include "runtime/cache/redis_cache.h"
#include "runtime/logging/log.h"
#include "runtime/server/call_observer.h"
#include "runtime/server/health_service.h"
#include "runtime/server/observed_methods.h"
#include "runtime/server/unknown_methods.h"
#include "runtime/sqlite/storage_faults.h"
#include "runtime/sqlite/wal_checkpointer.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime {
namespace {

// A store's write failure keeps readiness off this long after the last one (storage_faults.h).
constexpr absl::Duration kStorageFaultHold = absl::Seconds(10);

absl::StatusOr<std::string> ReadPem(const std::string& setting, const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument(setting, absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(const ServerConfig& c) {
  if (c.plaintext) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      c.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ASSIGN_OR_RETURN(std::string cert, ReadPem("tls_cert", c.tls_cert));
  ASSIGN_OR_RETURN(std::string key, ReadPem("tls_key", c.tls_key));
  options.pem_key_cert_pairs.push_back({key, cert});
  if (!c.tls_client_ca.empty()) {
    ASSIGN_OR_RETURN(options.pem_root_certs, ReadPem("tls_client_ca", c.tls_client_ca));
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::unique_ptr<Cache>> MakeCache(const ServerConfig& c,
                                                 prometheus::Registry& metrics) {
  if (c.redis.empty()) return std::make_unique<LruCache>(100000);
  auto host_port = SplitHostPort(c.redis);  // validated by the configuration already
  RedisOptions options;
  options.host = host_port->first;
  options.port = host_port->second;
  options.pool_size = c.cache_pool_size;
  options.username = c.redis_user;
  if (!c.redis_password_file.empty()) {
    ASSIGN_OR_RETURN(options.password, ReadPem("redis_password_file", c.redis_password_file));
    // A Secret written by an editor ends in a newline that is not part of the password.
    while (!options.password.empty() &&
           (options.password.back() == '\n' || options.password.back() == '\r')) {
      options.password.pop_back();
    }
    if (options.password.empty()) {
      return InvalidArgument("redis_password_file", "the file is empty");
    }
  }
  return std::make_unique<RedisCache>(options, &metrics);
}

// Adds gRPC's reflection plugin to one builder (or keeps it out), instead of
// InitProtoReflectionServerBuilderPlugin(), which would add it to every server in the process.
class ReflectionOption final : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionOption(bool enabled) : enabled_(enabled) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    std::erase_if(*plugins, [](const auto& p) { return p->name() == "proto_server_reflection"; });
    if (enabled_)
      plugins->push_back(std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
  }

 private:
  const bool enabled_;
};

}  // namespace

ServiceHost::ServiceHost(ServerConfig config, std::unique_ptr<ServiceModule> module)
    : config_(std::move(config)),
      module_(std::move(module)),
      metrics_(std::make_shared<prometheus::Registry>()) {}

absl::StatusOr<std::unique_ptr<ServiceHost>> ServiceHost::Start(
    ServerConfig config, std::unique_ptr<ServiceModule> module) {
  RETURN_IF_ERROR(Validate(config));
  std::unique_ptr<ServiceHost> host(new ServiceHost(std::move(config), std::move(module)));
  RETURN_IF_ERROR(host->StartServing());
  return host;
}

absl::Status ServiceHost::StartServing() {
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    return InvalidArgument("data_dir",
                           absl::StrCat("cannot create ", config_.data_dir, ": ", ec.message()));
  }
  ASSIGN_OR_RETURN(cache_, MakeCache(config_, *metrics_));
  std::unique_ptr<TokenStore> tokens;
  if (!config_.tokens_file.empty()) {
    ASSIGN_OR_RETURN(tokens, TokenStore::Load(config_.tokens_file, metrics_.get()));
  }
  gate_ = std::make_unique<CallGate>(config_, std::move(tokens));
  // With Redis, each principal's limit holds across the service's replicas (call_gate.h).
  if (!config_.redis.empty()) gate_->ShareRateLimits(cache_.get(), config_.service);
  // audit.db in data_dir on SQLite; the shared PostgreSQL database with `database` = postgres://.
  ASSIGN_OR_RETURN(audit_, AuditLog::Open(config_, metrics_.get()));
  storage_faults_ = &prometheus::BuildCounter()
                         .Name("dorset_storage_faults_total")
                         .Help(
                             "SQLite writes refused by a full disk, an I/O error or a "
                             "read-only file (this process, every store)")
                         .Register(*metrics_)
                         .Add({});
  store_writable_ = &prometheus::BuildGauge()
                         .Name("dorset_storage_writable")
                         .Help(
                             "0 while a store or the audit trail in the data directory "
                             "cannot be written (as readiness reports), else 1")
                         .Register(*metrics_)
                         .Add({});
  auto& checkpoints = prometheus::BuildCounter()
                          .Name("dorset_sqlite_wal_checkpoints_total")
                          .Help(
                              "WAL checkpoints of the SQLite stores (this process): by the "
                              "background checkpointer, inside a writer's commit at the WAL's "
                              "bound (writer), or copying what a background pass left (finish)")
                          .Register(*metrics_);
  checkpoints_background_ = &checkpoints.Add({{"by", "checkpointer"}});
  checkpoints_writer_ = &checkpoints.Add({{"by", "writer"}});
  checkpoints_finish_ = &checkpoints.Add({{"by", "finish"}});
  checkpoint_frames_ = &prometheus::BuildCounter()
                            .Name("dorset_sqlite_wal_checkpoint_frames_total")
                            .Help("WAL frames the SQLite stores' checkpoints copied (this process)")
                            .Register(*metrics_)
                            .Add({});
  audit_service_ = std::make_unique<AuditServiceImpl>(*gate_, *audit_);

  const ServiceEnv env{config_, *cache_, *metrics_, *gate_, audit_.get()};
  RETURN_IF_ERROR(Annotate(module_->Init(env), "starting the service"));

  // Our own health service, behind the gate (gRPC's would answer everyone); reflection only
  // while health is open, as gRPC's reflection cannot be put behind the gate.
  grpc::EnableDefaultHealthCheckService(false);
  health_ = std::make_unique<HealthService>(*gate_);
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<ReflectionOption>(config_.open_health));
  ASSIGN_OR_RETURN(auto credentials, MakeCredentials(config_));
  builder.AddListeningPort(config_.grpc_listen, credentials, &grpc_port_);
  builder.SetMaxReceiveMessageSize(config_.max_message_bytes);
  builder.SetMaxSendMessageSize(config_.max_message_bytes);
  // Keepalive on purpose: ping idle connections so dead peers (and half-open NATs in front of
  // long WatchChanges streams) are noticed within a minute, and let clients ping every 10 s.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  // No GRPC_ARG_MAX_CONNECTION_IDLE_MS (nor _AGE): either puts gRPC's idle filter in every
  // call's path, a promise-based filter whose adaptor cost ~5,800 instructions of each call here
  // (8 % of an echo call, more than the runtime's own observation: bench/README.md, issue 16).
  // Dead peers are found by the keepalive pings above; a live idle client keeps its connection.
  // Every call is observed without a gRPC interceptor (registering one at all makes gRPC build a
  // ServerRpcInfo and ask its factory on every call): the services' methods through their
  // wrapped handlers (observed_methods.h), every other path through UnknownMethods. Reflection,
  // served by gRPC's plugin, is not observed.
  observer_ = std::make_unique<CallObserver>(*metrics_, audit_.get());
  unknown_methods_ = std::make_unique<UnknownMethods>(*observer_);
  std::vector<grpc::Service*> services = module_->Services();
  services.push_back(audit_service_.get());
  services.push_back(health_.get());
  for (grpc::Service* service : services) {
    ObserveMethods(*service, *observer_, *gate_);
    builder.RegisterService(service);
  }
  builder.RegisterCallbackGenericService(unknown_methods_.get());

  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("grpc_listen: cannot listen on ", config_.grpc_listen));
  }
  health_->SetServingStatus("", true);
  RefreshHealth();

  ASSIGN_OR_RETURN(ops_, OpsHttpServer::Start(config_.ops_listen, metrics_,
                                              [this] { return CurrentReadiness(); }));
  health_loop_ = std::thread([this] {
    NameThisThread("health-watch");
    while (!stop_health_loop_.WaitForNotificationWithTimeout(absl::Seconds(1))) RefreshHealth();
  });
  return absl::OkStatus();
}

Readiness ServiceHost::CurrentReadiness() {
  if (shutting_down_.load()) return {false, "shutting down"};
  if (absl::Status store = module_->CheckStore(); !store.ok()) {
    return {false, absl::StrCat("store not ready: ", store.message())};
  }
  if (absl::Status audit = audit_->Health(); !audit.ok()) {
    return {false, absl::StrCat("audit trail not writable: ", audit.message())};
  }
  if (auto fault = sqlite::ActiveStorageFault(config_.data_dir, kStorageFaultHold)) {
    return {false, absl::StrCat("store not writable: ", fault->status.message())};
  }
  const CacheHealth cache = cache_->Health();
  std::string reason = cache.ok ? absl::StrCat("ok; cache ", cache.backend)
                                : absl::StrCat("ok; cache degraded (", cache.detail, ")");
  for (const std::string& down : module_->DependenciesDown()) {
    absl::StrAppend(&reason, "; dependency down: ", down);
  }
  return {true, std::move(reason)};
}

void ServiceHost::RefreshHealth() {
  const bool serving = CurrentReadiness().ready;
  if (storage_faults_ != nullptr) {
    const bool writable =
        audit_->Health().ok() && !sqlite::ActiveStorageFault(config_.data_dir, kStorageFaultHold);
    store_writable_->Set(writable ? 1 : 0);
    const double faults = static_cast<double>(sqlite::StorageFaultCount());
    if (faults > storage_faults_->Value())
      storage_faults_->Increment(faults - storage_faults_->Value());
    const sqlite::CheckpointCounts checkpoints = sqlite::ProcessCheckpointCounts();
    for (auto [counter, total] : {std::pair{checkpoints_background_, checkpoints.background},
                                  std::pair{checkpoints_writer_, checkpoints.writer},
                                  std::pair{checkpoints_finish_, checkpoints.finish},
                                  std::pair{checkpoint_frames_, checkpoints.frames}}) {
      const double value = static_cast<double>(total);
      if (value > counter->Value()) counter->Increment(value - counter->Value());
    }
  }
  absl::MutexLock lock(&health_mu_);
  if (server_ == nullptr || shutting_down_.load()) return;
  for (const std::string& name : module_->HealthNames()) {
    health_->SetServingStatus(name, serving);
  }
  if (serving != last_serving_) {
    log::Info(serving ? "ready" : "not ready",
              {{"health_names", absl::StrJoin(module_->HealthNames(), ",")}});
    last_serving_ = serving;
  }
}

void ServiceHost::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  log::Info("shutting down", {{"drain_seconds", config_.drain_seconds}});
  {
    absl::MutexLock health_lock(&health_mu_);
    shutting_down_.store(true);
    if (server_) {
      // Readiness off first (liveness "" stays up) so load balancers stop sending new calls.
      for (const std::string& name : module_->HealthNames()) {
        health_->SetServingStatus(name, false);
      }
    }
  }
  stop_health_loop_.Notify();
  if (health_loop_.joinable()) health_loop_.join();
  if (server_) {
    absl::SleepFor(absl::Seconds(config_.drain_seconds));
    health_->Shutdown();
    module_->OnShutdown();
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(config_.shutdown_grace_seconds));
    server_->Wait();
  }
  if (ops_) ops_->Stop();
  log::Info("stopped");
}

ServiceHost::~ServiceHost() {
  Shutdown();
  // The server must go before the module and audit trail its services reference, and the
  // module (its timers may still record) before the audit trail.
  server_.reset();
  module_.reset();
  audit_service_.reset();
  audit_.reset();  // writes what is still queued
}

int RunServerMain(int argc, char** argv, const ServerDefaults& defaults,
                  std::function<std::unique_ptr<ServiceModule>()> make_module) {
  // Block the stop signals in every thread (threads inherit the mask), then wait for them
  // on this one: no async-signal-safety puzzles.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
#ifdef NDEBUG
  // Debian's Abseil is built with absl::Mutex's deadlock detection on (a debug aid: a lock-order
  // graph updated on every Lock, gRPC's own locks included), which upstream Release builds leave
  // off. It was the largest single cost of a call here (bench/costs.sh); Debug and sanitizer
  // builds, which run the tests, keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif

  absl::StatusOr<ServerConfig> config = LoadServerConfig(defaults, argc, argv);
  if (config.status().code() == absl::StatusCode::kCancelled) {  // --help
    std::cout << config.status().message();
    return 0;
  }
  if (!config.ok()) {
    std::cerr << "dorset-" << defaults.service
              << ": configuration error: " << config.status().message() << "\n";
    return 2;
  }
  if (absl::Status s = log::Init(defaults.service, config->log_level); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  const absl::Time started = absl::Now();
  absl::StatusOr<std::unique_ptr<ServiceHost>> host =
      ServiceHost::Start(*std::move(config), make_module());
  if (!host.ok()) {
    log::Error("cannot start", {{"error", std::string(host.status().message())}});
    return 1;
  }
  const ServerConfig& c = (*host)->config();
  log::Info("serving",
            {{"grpc_port", (*host)->grpc_port()},
             {"ops_port", (*host)->ops_port()},
             {"tls", c.plaintext ? "plaintext" : (c.tls_client_ca.empty() ? "tls" : "mutual-tls")},
             {"auth", c.auth == AuthMode::kNone ? "none" : "tokens"},
             {"cache", c.redis.empty() ? "memory" : c.redis},
             {"startup_ms", absl::ToDoubleMilliseconds(absl::Now() - started)}});
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::Info("signal received", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*host)->Shutdown();
  host->reset();
  return 0;
}

}  // namespace dorset::runtime
