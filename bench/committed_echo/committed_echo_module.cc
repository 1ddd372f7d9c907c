#include "bench/committed_echo/committed_echo_module.h"

#include <span>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "committed_echo_migrations.h"
#include "dorset/bench/v1/echo.grpc.pb.h"
#include "runtime/server/unary_call.h"
#include "runtime/status/grpc_status.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/group_commit.h"
#include "runtime/storage/open.h"

namespace dorset::bench {

absl::StatusOr<CommitMode> ParseCommitMode(std::string_view text) {
  if (text == "empty") return CommitMode::kEmpty;
  if (text == "row") return CommitMode::kRow;
  return absl::InvalidArgumentError(absl::StrCat(
      "--commit must be empty or row (got '", absl::string_view(text.data(), text.size()), "')"));
}

namespace {

// One Echo waiting for its group's commit. The request and reply live until the call is
// finished (gRPC keeps them), so the job holds pointers, as finance's PostingJob holds its call.
struct EchoJob {
  const v1::EchoRequest* request;
  v1::EchoResponse* reply;
  runtime::UnaryHandle call;
};

}  // namespace

class CommittedEchoService final : public v1::EchoService::CallbackService {
 public:
  CommittedEchoService(runtime::CallGate& gate, std::unique_ptr<runtime::storage::Database> db,
                       CommitMode mode, prometheus::Registry& metrics)
      : gate_(gate),
        db_(std::move(db)),
        committer_(
            *db_,
            runtime::storage::GroupCommitOptions{
                .metrics = &metrics,
                .group_size_metric = "committed_echo_group_requests",
                // As finance and engagement: the replies leave on a second thread.
                .finish_on_own_thread = true,
                .what = "the echo",
            },
            [mode](runtime::storage::Transaction& tx, std::span<EchoJob> jobs,
                   std::vector<absl::Status>&) -> absl::Status {
              if (mode == CommitMode::kEmpty) return absl::OkStatus();
              ASSIGN_OR_RETURN(runtime::storage::Statement insert,
                               tx.Prepare("INSERT INTO echo_write(message) VALUES (?)"));
              // One statement a row, sent in the connection's pipeline on PostgreSQL (no round
              // trip each); on SQLite each runs at once.
              for (EchoJob& job : jobs) {
                insert.BindKept(1, job.request->message());
                RETURN_IF_ERROR(insert.Send());
                insert.Reset();
              }
              return absl::OkStatus();
            },
            [](EchoJob& job, const absl::Status& status) {
              if (status.ok()) job.reply->set_message(job.request->message());
              job.call.Finish(runtime::ToGrpcStatus(status));
            }) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const v1::EchoRequest* request,
                                 v1::EchoResponse* response) override {
    const runtime::UnaryHandle call(context, request, response);
    absl::StatusOr<runtime::Caller> caller = call.Admit(gate_);
    if (!caller.ok()) return call.Finish(runtime::ToGrpcStatus(caller.status()));
    committer_.Submit(EchoJob{request, response, call});
    return call.reactor();
  }

  runtime::storage::Database& db() { return *db_; }

 private:
  runtime::CallGate& gate_;
  const std::unique_ptr<runtime::storage::Database> db_;
  // Last: its destructor completes every queued job while the database is still open.
  runtime::storage::GroupCommitter<EchoJob> committer_;
};

CommittedEchoModule::CommittedEchoModule(CommitMode mode) : mode_(mode) {}
CommittedEchoModule::~CommittedEchoModule() = default;

absl::Status CommittedEchoModule::Init(const runtime::ServiceEnv& env) {
  ASSIGN_OR_RETURN(std::unique_ptr<runtime::storage::Database> db,
                   runtime::storage::OpenServiceDatabase(
                       env.config, dorset::migrations::CommittedEchoMigrations));
  service_ = std::make_unique<CommittedEchoService>(env.gate, std::move(db), mode_, env.metrics);
  return absl::OkStatus();
}

std::vector<grpc::Service*> CommittedEchoModule::Services() { return {service_.get()}; }

absl::Status CommittedEchoModule::CheckStore() { return service_->db().Health(); }

absl::StatusOr<int64_t> CommittedEchoModule::RowsWritten() {
  int64_t rows = 0;
  RETURN_IF_ERROR(service_->db().Read([&](runtime::storage::Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(runtime::storage::Statement count,
                     tx.Prepare("SELECT count(*) FROM echo_write"));
    ASSIGN_OR_RETURN(bool row, count.Step());
    if (row) rows = count.Int(0);
    return absl::OkStatus();
  }));
  return rows;
}

}  // namespace dorset::bench
