// The echo whose replies go through the storage lane's group committer: the ceiling of an
// acknowledged write on this machine (issue 16). Every Echo is a job of one
// runtime::storage::GroupCommitter on the server's own store (SQLite under --data_dir, or
// --database), completed after its group's transaction, exactly as finance's postings and
// engagement's responses are; only what the transaction writes differs, by mode:
//   kEmpty  the transaction writes nothing: the hand-offs (handler -> writer -> finisher), the
//           batching and the committer's own work, no disk (an empty commit syncs nothing);
//   kRow    one row a call (INSERT of the message): the above plus a durable commit a group.
// Divided by dorset-echo in the same run (bench/cpu_per_call.sh), the two say how much of a
// write's gap to echo is the group commit itself and how much is the service's own work.
//
//   dorset-committed-echo --commit=row --grpc_listen=127.0.0.1:50459 --data_dir=/tmp/ce
#ifndef DORSET_BENCH_COMMITTED_ECHO_COMMITTED_ECHO_MODULE_H_
#define DORSET_BENCH_COMMITTED_ECHO_COMMITTED_ECHO_MODULE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/server/service_host.h"

namespace dorset::bench {

enum class CommitMode { kEmpty, kRow };

// "empty" or "row"; INVALID_ARGUMENT naming --commit otherwise.
absl::StatusOr<CommitMode> ParseCommitMode(std::string_view text);

class CommittedEchoService;

class CommittedEchoModule final : public runtime::ServiceModule {
 public:
  explicit CommittedEchoModule(CommitMode mode);
  ~CommittedEchoModule() override;
  absl::Status Init(const runtime::ServiceEnv& env) override;
  std::vector<grpc::Service*> Services() override;
  std::vector<std::string> HealthNames() override { return {"dorset.bench.v1.EchoService"}; }
  absl::Status CheckStore() override;

  // Rows written so far (--commit=row: one a call acknowledged); tests.
  absl::StatusOr<int64_t> RowsWritten();

 private:
  const CommitMode mode_;
  std::unique_ptr<CommittedEchoService> service_;
};

}  // namespace dorset::bench

#endif  // DORSET_BENCH_COMMITTED_ECHO_COMMITTED_ECHO_MODULE_H_
