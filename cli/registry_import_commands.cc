// dorsetctl registry's imports (registry_import_commands.h).
#include "cli/registry_import_commands.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "runtime/api/enum_names.h"

namespace dorset::cli {
namespace {

namespace v1 = dorset::registry::v1;
using registry_cli::Json;
using registry_cli::Usage;

constexpr size_t kChunkBytes = 1024 * 1024;

class Importer {
 public:
  explicit Importer(const Connection& connection) : connection_(connection) {}

  // Streams the file in chunks (never whole in memory) and prints the report. The reply is
  // received as raw bytes and decoded here, so that a reply gRPC could not decode (a
  // non-UTF-8 string) is an error message, never an abort in gRPC's synchronous writer.
  int Import(v1::ImportKind kind, const std::string& path, const Args& args) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) {
      std::cerr << "cannot read " << path << "\n";
      return 2;
    }
    const std::streamoff size = in.tellg();
    in.seekg(0);
    auto context = NewContext(connection_, 300);
    grpc::ByteBuffer reply;
    const grpc::internal::RpcMethod method("/dorset.registry.v1.RegistryService/ImportFile",
                                           grpc::internal::RpcMethod::CLIENT_STREAMING,
                                           connection_.channel);
    std::unique_ptr<grpc::ClientWriter<v1::ImportFileRequest>> writer(
        grpc::internal::ClientWriterFactory<v1::ImportFileRequest>::Create(
            connection_.channel.get(), method, context.get(), &reply));
    v1::ImportFileRequest chunk;
    v1::ImportOptions* options = chunk.mutable_options();
    options->set_kind(kind);
    options->set_commissioner(args.GetOr("commissioner", ""));
    options->set_validate_only(args.Has("validate_only"));
    options->set_override_local_closures(args.Has("override_local_closures"));
    options->set_source_name(path.substr(path.find_last_of('/') + 1));
    options->set_request_id(args.GetOr("request_id", ""));
    options->set_size_bytes(size);
    std::string buffer(kChunkBytes, '\0');
    do {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      chunk.set_data(buffer.data(), static_cast<size_t>(in.gcount()));
      if (!writer->Write(chunk)) break;
      chunk.Clear();
    } while (in && !in.eof());
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    if (!status.ok()) return ReportError(status);
    v1::ImportReport report;
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (reply.Dump(&slices).ok()) {
      for (const grpc::Slice& slice : slices) {
        bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
    }
    if (!report.ParseFromString(bytes)) {
      std::cerr << "error: the registry answered OK but its import report (" << bytes.size()
                << " bytes) could not be decoded; the import may have been applied: check "
                   "`dorsetctl registry changes`\n";
      return 1;
    }
    PrintReport(path, report, args.Has("json"));
    return WholesaleRejection(report);
  }

  // Non-zero when every row was rejected: nothing in the file was usable, which is almost
  // always the wrong file or the wrong command.
  static int WholesaleRejection(const v1::ImportReport& report) {
    if (report.rows_read() == 0 || report.rejected() < report.rows_read()) return 0;
    std::cerr << "error: every row was rejected (" << report.rejected() << " of "
              << report.rows_read() << ")";
    switch (report.looks_like()) {
      case v1::IMPORT_KIND_EPRACCUR:
        std::cerr << "; the file looks like an epraccur extract: use import-epraccur";
        break;
      case v1::IMPORT_KIND_LIST_SIZES:
        std::cerr << "; the file looks like a list-size file: use import-list-sizes";
        break;
      case v1::IMPORT_KIND_LOCALITIES:
        std::cerr << "; the file looks like a localities file: use import-localities";
        break;
      case v1::IMPORT_KIND_PRACTICE_LOCALITIES:
        std::cerr << "; the file looks like a practice-localities file: use "
                     "import --kind=practice-localities";
        break;
      default:
        std::cerr << "; it is not a " << runtime::EnumShortName(report.kind()) << " file, or "
                  << "every row is bad";
        break;
    }
    std::cerr << "\n";
    return 3;
  }

 private:
  static void PrintReport(const std::string& path, const v1::ImportReport& report, bool json) {
    if (json) {
      std::cout << Json(report) << "\n";
      return;
    }
    std::cout << runtime::EnumShortName(report.kind()) << " " << path
              << (report.validate_only() ? " (validate only: nothing written)" : "") << "\n"
              << "  commissioner " << report.commissioner() << "  rows read " << report.rows_read()
              << "  skipped (other commissioners) " << report.rows_skipped() << "\n"
              << "  added " << report.added() << "  changed " << report.changed() << "  unchanged "
              << report.unchanged() << "  rejected " << report.rejected() << "\n";
    if (report.windows_1252_rows() > 0) {
      std::cout << "  " << report.windows_1252_rows()
                << " rows were not UTF-8 and were read as Windows-1252\n";
    }
    if (report.kind() == v1::IMPORT_KIND_LIST_SIZES) {
      std::cout << "  list sizes: " << report.list_size_practices() << " practices, "
                << report.list_size_patients() << " patients\n";
    }
    if (report.last_sequence() > 0) {
      std::cout << "  change sequences " << report.first_sequence() << ".."
                << report.last_sequence() << "\n";
    }
    for (const auto& r : report.rejections()) {
      std::cout << "  rejected line " << r.line() << (r.ods_code().empty() ? "" : " ")
                << r.ods_code() << ": " << r.reason() << "\n";
    }
    if (report.rejections_size() < report.rejected()) {
      std::cout << "  ... " << report.rejected() - report.rejections_size()
                << " more rejections not listed\n";
    }
    if (report.mismatch_count() > report.mismatches_size()) {
      std::cout << "  " << report.mismatch_count() << " mismatches; the first "
                << report.mismatches_size() << " listed\n";
    }
    for (const auto& c : report.conflicts()) {
      std::cout << "  conflict " << c.ods_code() << ": " << c.reason() << "\n";
    }
    for (const auto& m : report.mismatches()) {
      std::cout << "  mismatch " << m.ods_code() << ": " << runtime::EnumShortName(m.kind())
                << " (status " << runtime::EnumShortName(m.status()) << ", prescribing setting "
                << m.prescribing_setting() << ")\n";
    }
  }

  const Connection& connection_;
};

std::optional<v1::ImportKind> KindFromFlag(const std::string& kind) {
  if (kind == "epraccur") return v1::IMPORT_KIND_EPRACCUR;
  if (kind == "list-sizes") return v1::IMPORT_KIND_LIST_SIZES;
  if (kind == "localities") return v1::IMPORT_KIND_LOCALITIES;
  if (kind == "practice-localities") return v1::IMPORT_KIND_PRACTICE_LOCALITIES;
  return std::nullopt;
}

}  // namespace

bool IsRegistryImportCommand(const std::string& command) {
  return command == "import-epraccur" || command == "import-list-sizes" ||
         command == "import-localities" || command == "import";
}

int RunRegistryImportCommand(const std::string& command, const Args& args,
                             const Connection& connection) {
  const auto& pos = args.positional();
  Importer registry(connection);
  if (command == "import-epraccur" && pos.size() == 1) {
    return registry.Import(v1::IMPORT_KIND_EPRACCUR, pos[0], args);
  }
  if (command == "import-list-sizes" && pos.size() == 1) {
    return registry.Import(v1::IMPORT_KIND_LIST_SIZES, pos[0], args);
  }
  if (command == "import-localities" && (pos.size() == 1 || pos.size() == 2)) {
    const int rc = registry.Import(v1::IMPORT_KIND_LOCALITIES, pos[0], args);
    if (rc != 0 || pos.size() == 1) return rc;
    return registry.Import(v1::IMPORT_KIND_PRACTICE_LOCALITIES, pos[1], args);
  }
  if (command == "import" && pos.size() == 1) {
    std::optional<v1::ImportKind> kind = KindFromFlag(args.GetOr("kind", ""));
    if (!kind) return Usage();
    return registry.Import(*kind, pos[0], args);
  }
  return Usage();
}

}  // namespace dorset::cli
