// ImportFile's stream reactor: the upload is spooled chunk by chunk to an unlinked file beside
// the store (never held in memory), then imported as a stream in one transaction. At most
// kMaxConcurrentImports run at once; memory goes back to the system afterwards.
#include "services/registry/api/import_reactor.h"

#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/api/enum_names.h"
#include "runtime/api/request_id.h"
#include "runtime/logging/log.h"
#include "runtime/server/stream_call.h"
#include "runtime/status/errors.h"
#include "runtime/status/grpc_status.h"
#include "runtime/status/status_macros.h"
#include "services/registry/importer.h"

namespace dorset::registry {
namespace {

// An unlinked temporary file: it disappears when closed, even after a crash.
class SpoolFile {
 public:
  static absl::StatusOr<std::unique_ptr<SpoolFile>> Create(const std::string& dir) {
    std::string path = (std::filesystem::path(dir) / ".import-XXXXXX").string();
    const int fd = mkstemp(path.data());
    if (fd < 0) return runtime::Internal("cannot create the import spool file");
    unlink(path.c_str());
    std::FILE* file = fdopen(fd, "w+b");
    if (file == nullptr) {
      close(fd);
      return runtime::Internal("cannot open the import spool file");
    }
    return std::unique_ptr<SpoolFile>(new SpoolFile(file));
  }
  ~SpoolFile() { std::fclose(file_); }

  bool Append(const std::string& data) {
    return std::fwrite(data.data(), 1, data.size(), file_) == data.size();
  }
  // Rewinds for reading; null when the written bytes did not reach the disk.
  std::FILE* Rewind() {
    if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_SET) != 0) return nullptr;
    return file_;
  }

 private:
  explicit SpoolFile(std::FILE* file) : file_(file) {}
  std::FILE* file_;
};

}  // namespace

class ImportReactor final : public grpc::ServerReadReactor<v1::ImportFileRequest> {
 public:
  ImportReactor(const ImportContext& context, std::string actor, v1::ImportReport* response)
      : call_(runtime::StreamCall::Adopt()),
        context_(&context),
        actor_(std::move(actor)),
        response_(response) {
    // Initial metadata tells the client its import holds a slot (before any data is sent), so a
    // client or a test can tell an admitted import from one still on its way.
    StartSendInitialMetadata();
    StartRead(&chunk_);
  }
  // Refuses the call at once.
  explicit ImportReactor(const absl::Status& status)
      : call_(runtime::StreamCall::Adopt()), context_(nullptr), response_(nullptr) {
    runtime::FinishObserved(call_.get(), this, runtime::ToGrpcStatus(status));
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      if (call_ != nullptr) call_->NoteReceived(chunk_);
      if (absl::Status status = Take(); !status.ok()) {
        End(runtime::ToGrpcStatus(status));
        return;
      }
      chunk_.Clear();
      StartRead(&chunk_);
      return;
    }
    // The stream ended, or a chunk could not be parsed (gRPC reports both the same way).
    if (cancelled_.load()) {
      End(grpc::Status::CANCELLED);
      return;
    }
    End(runtime::ToGrpcStatus(Import()));
  }

  void OnCancel() override { cancelled_.store(true); }
  void OnDone() override {
    ReleaseSlot();
    call_.reset();  // the call's metrics and access-log line
    delete this;
  }

 private:
  // The slot is free before the client hears the answer, so its next import is admitted.
  void End(const grpc::Status& status) {
    spool_.reset();
    ReleaseSlot();
    // The report goes out with an OK status only; the audit event may name it.
    if (status.ok() && call_ != nullptr) call_->NoteSent(*response_);
    runtime::FinishObserved(call_.get(), this, status);
  }
  void ReleaseSlot() {
    if (context_ != nullptr && !released_) {
      released_ = true;
      context_->running->fetch_sub(1);
    }
  }

  // One chunk: options first, data spooled.
  absl::Status Take() {
    if (first_) {
      first_ = false;
      options_ = chunk_.options();
      RETURN_IF_ERROR(CheckImportOptions(options_));
      ASSIGN_OR_RETURN(spool_, SpoolFile::Create(SpoolDir()));
      if (!options_.request_id().empty()) hasher_.emplace(options_);
    } else if (chunk_.has_options()) {
      return runtime::InvalidArgument("options", "only the first chunk carries options");
    }
    received_ += chunk_.data().size();
    if (received_ > kMaxImportBytes) {
      return runtime::InvalidArgument(
          "data", absl::StrCat("the file is larger than ", kMaxImportBytes, " bytes"));
    }
    if (options_.size_bytes() > 0 && received_ > static_cast<size_t>(options_.size_bytes())) {
      return runtime::InvalidArgument("data", "more bytes arrived than options.size_bytes");
    }
    if (!spool_->Append(chunk_.data())) return runtime::Internal("spooling the upload failed");
    if (hasher_) hasher_->AddBody(chunk_.data());
    return absl::OkStatus();
  }

  std::string SpoolDir() const { return context_->store->data_dir(); }

  absl::Status Import() {
    if (first_) {
      return runtime::InvalidArgument(
          "data",
          "no readable chunk arrived: the file is empty, or its first chunk could not be parsed "
          "(every string in options must be valid UTF-8)");
    }
    if (options_.size_bytes() > 0 && received_ != static_cast<size_t>(options_.size_bytes())) {
      return runtime::InvalidArgument(
          "data", absl::StrCat("the upload ended after ", received_, " of ", options_.size_bytes(),
                               " bytes (a chunk was lost or could not be parsed); nothing was "
                               "imported"));
    }
    std::FILE* file = spool_->Rewind();
    if (file == nullptr) return runtime::Internal("reading back the spooled upload failed");
    FileSource source(file);
    const absl::Time start = absl::Now();
    // The statistics refresh a bulk import asks for starts when the caches have been refreshed.
    std::optional<Store::StatisticsHold> statistics_hold(std::in_place, *context_->store);
    absl::StatusOr<ImportOutcome> outcome = RunImport(
        *context_->store, options_, source, hasher_ ? hasher_->Finish() : std::string(), actor_);
    spool_.reset();
    if (!outcome.ok()) {
      malloc_trim(0);
      return outcome.status();
    }
    context_->effects->AfterImport(*outcome);
    statistics_hold.reset();
    const v1::ImportReport& r = outcome->report;
    runtime::log::Info("registry import", {{"kind", runtime::EnumShortName(options_.kind())},
                                           {"commissioner", r.commissioner()},
                                           {"bytes", static_cast<int64_t>(received_)},
                                           {"rows_read", r.rows_read()},
                                           {"added", r.added()},
                                           {"changed", r.changed()},
                                           {"unchanged", r.unchanged()},
                                           {"skipped", r.rows_skipped()},
                                           {"rejected", r.rejected()},
                                           {"windows_1252_rows", r.windows_1252_rows()},
                                           {"validate_only", options_.validate_only()},
                                           {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
    *response_ = std::move(outcome->report);
    outcome->changes.clear();
    outcome->changes.shrink_to_fit();
    // Hand the import's transient memory back to the system (glibc keeps freed arenas).
    malloc_trim(0);
    return absl::OkStatus();
  }

  // The call's observation (runtime/server/stream_call.h): taken when made, ended in OnDone.
  std::unique_ptr<runtime::StreamCall> call_;
  const ImportContext* context_;  // null for a refused call
  std::string actor_;
  v1::ImportReport* response_;
  v1::ImportFileRequest chunk_;
  v1::ImportOptions options_;
  std::unique_ptr<SpoolFile> spool_;
  std::optional<runtime::RequestHasher> hasher_;  // the upload's fingerprint for request_id
  size_t received_ = 0;
  bool first_ = true;
  bool released_ = false;  // callbacks of one reactor never run concurrently
  std::atomic<bool> cancelled_{false};
};

grpc::ServerReadReactor<v1::ImportFileRequest>* StartImport(
    const ImportContext& context, const absl::StatusOr<runtime::Caller>& caller,
    v1::ImportReport* response) {
  if (!caller.ok()) return new ImportReactor(caller.status());
  if (context.running->fetch_add(1) >= kMaxConcurrentImports) {
    context.running->fetch_sub(1);
    return new ImportReactor(runtime::ResourceExhausted(
        absl::StrCat(kMaxConcurrentImports, " imports are already running; retry when they end"),
        absl::Seconds(30)));
  }
  return new ImportReactor(context, caller->principal, response);
}

}  // namespace dorset::registry
