// dorsetctl registry ...: commands for the registry service (practices, localities, clusters,
// the area summary, the change feed and imports of the NHS files).
//
// The imports are run by registry_import_commands.cc.
//
//   dorsetctl registry import-epraccur data/ods/epraccur-2025-05.csv [--commissioner=11J|all]
//   dorsetctl registry import-list-sizes data/ods/gp-reg-pat-prac-all-2021-01.csv
//   dorsetctl registry import-localities data/dorset/localities.csv
//   data/dorset/practice-localities.csv dorsetctl registry get J81016 dorsetctl registry list
//   --locality=poole-bay --status=active dorsetctl registry watch --after=0
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/cli_common.h"
#include "cli/command_groups.h"
#include "cli/registry_import_commands.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "runtime/api/enum_names.h"

namespace dorset::cli {
namespace {

namespace v1 = dorset::registry::v1;
using registry_cli::Json;
using registry_cli::Usage;

constexpr char kDefaultTarget[] = "127.0.0.1:50051";

const char kUsage[] =
    "usage: dorsetctl registry <command> [options]\n"
    "  import-epraccur FILE [--commissioner=11J|all] [--validate_only]\n"
    "                  [--override_local_closures]  (let ODS reopen practices closed here)\n"
    "  import-list-sizes FILE [--commissioner=11J|all] [--validate_only]\n"
    "  import-localities LOCALITIES.csv [PRACTICE-LOCALITIES.csv] [--validate_only]\n"
    "  import --kind=epraccur|list-sizes|localities|practice-localities FILE [...]\n"
    "  get ODS_CODE\n"
    "  list [--locality=ID] [--cluster=ID] [--status=active,closed,...] [--name=TEXT]\n"
    "       [--postcode=PREFIX] [--setting=N] [--commissioner=CODE] [--order_by=FIELD[ desc]]\n"
    "       [--page_size=N] [--all] [--json]\n"
    "  close ODS_CODE [--successor=ODS_CODE] [--close_date=YYYY-MM-DD] [--etag=E]\n"
    "  revisions ODS_CODE\n"
    "  localities [--cluster=ID] | locality ID | clusters | cluster ID\n"
    "  summary [--governing_body=11J]\n"
    "  changes [--after=SEQ] [--page_size=N]\n"
    "  watch [--after=SEQ]   (prints each change as one JSON line until interrupted)\n"
    "options: --target=host:port (or DORSETCTL_REGISTRY, config registry=; default\n"
    "         127.0.0.1:50051) --token=... (or DORSETCTL_TOKEN) --tls_ca=ca.pem\n"
    "exit status: 0 done, 1 error, 2 usage, 3 an import whose every row was rejected\n";

std::string WithPrefix(const std::string& id, const std::string& collection) {
  return id.rfind(collection + "/", 0) == 0 ? id : absl::StrCat(collection, "/", id);
}

class Registry {
 public:
  explicit Registry(Connection connection)
      : connection_(std::move(connection)),
        stub_(v1::RegistryService::NewStub(connection_.channel)) {}

  int Get(const std::string& code) {
    v1::GetPracticeRequest request;
    request.set_name(WithPrefix(code, "practices"));
    v1::Practice practice;
    auto context = NewContext(connection_);
    const grpc::Status status = stub_->GetPractice(context.get(), request, &practice);
    if (!status.ok()) return ReportError(status);
    std::cout << Json(practice) << "\n";
    return 0;
  }

  int List(const Args& args) {
    v1::ListPracticesRequest request;
    if (auto v = args.Get("locality")) request.set_locality(WithPrefix(*v, "localities"));
    if (auto v = args.Get("cluster")) request.set_cluster(WithPrefix(*v, "clusters"));
    if (auto v = args.Get("status")) {
      for (absl::string_view s : absl::StrSplit(*v, ',', absl::SkipEmpty())) {
        absl::StatusOr<v1::Practice::Status> status =
            ParseEnum<v1::Practice::Status>("status", std::string(s));
        if (!status.ok()) {
          PrintUsageError(status.status());
          return 2;
        }
        request.add_statuses(*status);
      }
    }
    request.set_name_contains(args.GetOr("name", ""));
    request.set_postcode_prefix(args.GetOr("postcode", ""));
    request.set_commissioner(args.GetOr("commissioner", ""));
    request.set_order_by(args.GetOr("order_by", ""));
    int number = 0;
    if (auto v = args.Get("setting")) {
      if (!absl::SimpleAtoi(*v, &number)) return Usage();
      request.set_prescribing_setting(number);
    }
    if (auto v = args.Get("page_size")) {
      if (!absl::SimpleAtoi(*v, &number)) return Usage();
      request.set_page_size(number);
    }
    request.set_page_token(args.GetOr("page_token", ""));
    const bool all = args.Has("all");
    const bool json = args.Has("json");
    int shown = 0;
    while (true) {
      v1::ListPracticesResponse response;
      auto context = NewContext(connection_);
      const grpc::Status status = stub_->ListPractices(context.get(), request, &response);
      if (!status.ok()) return ReportError(status);
      for (const v1::Practice& p : response.practices()) {
        ++shown;
        if (json) {
          std::cout << Json(p, false) << "\n";
          continue;
        }
        std::cout << p.ods_code() << "  " << runtime::EnumShortName(p.status()) << "  "
                  << p.postcode() << "  setting=" << p.prescribing_setting() << "  "
                  << (p.locality().empty() ? "-" : p.locality()) << "  "
                  << (p.has_list_size() ? absl::StrCat(p.list_size()) : "-") << "  "
                  << p.display_name() << "\n";
      }
      if (!all || response.next_page_token().empty()) {
        if (!json) {
          std::cerr << shown << " shown of " << response.total_size() << " matching";
          if (!response.next_page_token().empty()) {
            std::cerr << "; next page: --page_token=" << response.next_page_token();
          }
          std::cerr << "\n";
        }
        return 0;
      }
      request.set_page_token(response.next_page_token());
    }
  }

  int Close(const std::string& code, const Args& args) {
    v1::ClosePracticeRequest request;
    request.set_name(WithPrefix(code, "practices"));
    if (auto v = args.Get("successor")) request.set_successor(WithPrefix(*v, "practices"));
    request.set_close_date(args.GetOr("close_date", ""));
    request.set_etag(args.GetOr("etag", ""));
    request.set_request_id(args.GetOr("request_id", ""));
    v1::Practice practice;
    auto context = NewContext(connection_);
    const grpc::Status status = stub_->ClosePractice(context.get(), request, &practice);
    if (!status.ok()) return ReportError(status);
    std::cout << Json(practice) << "\n";
    return 0;
  }

  int Revisions(const std::string& code) {
    v1::ListPracticeRevisionsRequest request;
    request.set_name(WithPrefix(code, "practices"));
    request.set_page_size(1000);
    v1::ListPracticeRevisionsResponse response;
    auto context = NewContext(connection_);
    const grpc::Status status = stub_->ListPracticeRevisions(context.get(), request, &response);
    if (!status.ok()) return ReportError(status);
    for (const auto& r : response.revisions()) std::cout << Json(r, false) << "\n";
    return 0;
  }

  int Localities(const Args& args) {
    v1::ListLocalitiesRequest request;
    if (auto v = args.Get("cluster")) request.set_cluster(WithPrefix(*v, "clusters"));
    request.set_page_size(1000);
    v1::ListLocalitiesResponse response;
    auto context = NewContext(connection_);
    const grpc::Status status = stub_->ListLocalities(context.get(), request, &response);
    if (!status.ok()) return ReportError(status);
    for (const auto& l : response.localities()) {
      std::cout << l.name() << "  " << l.cluster() << "  active=" << l.practice_count()
                << " all=" << l.total_practice_count() << " patients=" << l.registered_patients()
                << "  " << l.display_name() << "\n";
    }
    return 0;
  }

  int Locality(const std::string& id) {
    v1::GetLocalityRequest request;
    request.set_name(WithPrefix(id, "localities"));
    v1::Locality locality;
    auto context = NewContext(connection_);
    const grpc::Status status = stub_->GetLocality(context.get(), request, &locality);
    if (!status.ok()) return ReportError(status);
    std::cout << Json(locality) << "\n";
    return 0;
  }

  int Clusters() {
    v1::ListClustersRequest request;
    request.set_page_size(1000);
    v1::ListClustersResponse response;
    auto context = NewContext(connection_);
    const grpc::Status status = stub_->ListClusters(context.get(), request, &response);
    if (!status.ok()) return ReportError(status);
    for (const auto& c : response.clusters()) std::cout << Json(c, false) << "\n";
    return 0;
  }

  int Cluster(const std::string& id) {
    v1::GetClusterRequest request;
    request.set_name(WithPrefix(id, "clusters"));
    v1::Cluster cluster;
    auto context = NewContext(connection_);
    const grpc::Status status = stub_->GetCluster(context.get(), request, &cluster);
    if (!status.ok()) return ReportError(status);
    std::cout << Json(cluster) << "\n";
    return 0;
  }

  int Summary(const Args& args) {
    v1::GetAreaSummaryRequest request;
    if (auto v = args.Get("governing_body")) request.set_name(WithPrefix(*v, "governingBodies"));
    v1::AreaSummary summary;
    auto context = NewContext(connection_);
    const grpc::Status status = stub_->GetAreaSummary(context.get(), request, &summary);
    if (!status.ok()) return ReportError(status);
    std::cout << Json(summary) << "\n";
    return 0;
  }

  int Changes(const Args& args) {
    v1::ListChangesRequest request;
    int64_t after = 0;
    int size = 0;
    if (!absl::SimpleAtoi(args.GetOr("after", "0"), &after) ||
        !absl::SimpleAtoi(args.GetOr("page_size", "0"), &size)) {
      return Usage();
    }
    request.set_after_sequence(after);
    request.set_page_size(size);
    request.set_page_token(args.GetOr("page_token", ""));
    v1::ListChangesResponse response;
    auto context = NewContext(connection_);
    const grpc::Status status = stub_->ListChanges(context.get(), request, &response);
    if (!status.ok()) return ReportError(status);
    for (v1::Change c : response.changes()) {
      c.clear_resource_state();
      std::cout << Json(c, false) << "\n";
    }
    std::cerr << "latest sequence " << response.latest_sequence();
    if (!response.next_page_token().empty()) {
      std::cerr << "; next page: --page_token=" << response.next_page_token();
    }
    std::cerr << "\n";
    return 0;
  }

  int Watch(const Args& args) {
    v1::WatchChangesRequest request;
    int64_t after = 0;
    if (!absl::SimpleAtoi(args.GetOr("after", "0"), &after)) return Usage();
    request.set_after_sequence(after);
    // A stream has no overall deadline; it runs until interrupted or the server ends it.
    auto context = NewContext(connection_, 365 * 24 * 3600);
    auto reader = stub_->WatchChanges(context.get(), request);
    v1::Change change;
    while (reader->Read(&change)) {
      if (!args.Has("full")) change.clear_resource_state();
      std::cout << Json(change, false) << std::endl;
    }
    const grpc::Status status = reader->Finish();
    return status.ok() ? 0 : ReportError(status);
  }

 private:
  Connection connection_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
};

}  // namespace

int registry_cli::Usage() {
  std::cerr << kUsage;
  return 2;
}

int RunRegistryCommand(int argc, char** argv) {
  if (argc < 1) return Usage();
  const std::string command = argv[0];
  if (command == "help" || command == "--help") {
    std::cout << kUsage;
    return 0;
  }
  Args args(argc, argv, 1);
  const auto& pos = args.positional();
  absl::StatusOr<Connection> connection = Connect(args, "registry", kDefaultTarget);
  if (!connection.ok()) {
    std::cerr << connection.status().message() << "\n";
    return 2;
  }
  if (IsRegistryImportCommand(command)) {
    return RunRegistryImportCommand(command, args, *connection);
  }
  Registry registry(*std::move(connection));
  if (command == "get" && pos.size() == 1) return registry.Get(pos[0]);
  if (command == "list" && pos.empty()) return registry.List(args);
  if (command == "close" && pos.size() == 1) return registry.Close(pos[0], args);
  if (command == "revisions" && pos.size() == 1) return registry.Revisions(pos[0]);
  if (command == "localities" && pos.empty()) return registry.Localities(args);
  if (command == "locality" && pos.size() == 1) return registry.Locality(pos[0]);
  if (command == "clusters" && pos.empty()) return registry.Clusters();
  if (command == "cluster" && pos.size() == 1) return registry.Cluster(pos[0]);
  if (command == "summary" && pos.empty()) return registry.Summary(args);
  if (command == "changes" && pos.empty()) return registry.Changes(args);
  if (command == "watch" && pos.empty()) return registry.Watch(args);
  return Usage();
}

}  // namespace dorset::cli
