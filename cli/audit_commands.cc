// dorsetctl audit list --service=registry|finance|engagement [--after=N] [--principal=P]
//   [--limit=N]: reads a service's audit trail (admins and auditors).
#include <iostream>

#include "absl/time/time.h"
#include "cli/cli_common.h"
#include "cli/command_groups.h"
#include "dorset/common/v1/audit.grpc.pb.h"

namespace dorset::cli {

int RunAuditCommand(int argc, char** argv) {
  Args args(argc, argv, 0);
  if (args.positional().empty() || args.positional()[0] != "list") {
    std::cerr << "usage: dorsetctl audit list --service=registry|finance|engagement "
                 "[--after=N] [--principal=P] [--limit=N]\n";
    return 2;
  }
  const std::string service = args.GetOr("service", "registry");
  if (service != "registry" && service != "finance" && service != "engagement") {
    std::cerr << "--service: unknown value \"" << service
              << "\"; valid values: registry, finance, engagement\n";
    return 2;
  }
  auto connection = Connect(args, service);
  if (!connection.ok()) {
    std::cerr << connection.status().message() << "\n";
    return 2;
  }
  auto stub = common::v1::AuditService::NewStub(connection->channel);
  common::v1::ListAuditEventsRequest request;
  request.set_after_sequence(std::stoll(args.GetOr("after", "0")));
  request.set_principal(args.GetOr("principal", ""));
  const int limit = std::stoi(args.GetOr("limit", "1000"));
  int shown = 0;
  std::cout << "sequence\ttime\tprincipal\taction\toutcome\tmethod\tresource\trequest_id\n";
  while (shown < limit) {
    request.set_page_size(std::min(1000, limit - shown));
    common::v1::ListAuditEventsResponse response;
    auto context = NewContext(*connection);
    const grpc::Status status = stub->ListAuditEvents(context.get(), request, &response);
    if (!status.ok()) return ReportError(status);
    for (const auto& e : response.events()) {
      const absl::Time time =
          absl::FromUnixSeconds(e.time().seconds()) + absl::Nanoseconds(e.time().nanos());
      std::cout << e.sequence() << "\t"
                << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()) << "\t"
                << e.principal() << "\t" << e.action() << "\t" << e.outcome() << "\t" << e.method()
                << "\t" << e.resource() << "\t" << e.request_id() << "\n";
      ++shown;
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  return 0;
}

}  // namespace dorset::cli
