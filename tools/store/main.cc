// dorset-store: the storage lane's admin program (docs/storage.md, the copy tool). Built from
// the services' storage code, not from their APIs (dorsetctl speaks only to the APIs).
//
//   dorset-store copy --service finance --from sqlite:///var/finance.db   (or registry, engagement)
//       --to postgres://dorset@db:5432/finance --to_password_file /run/secrets/pg
//
// Opens both databases through runtime/storage (the target is migrated to the current schema),
// moves audit events a SQLite source still holds in its audit outbox into the trail beside it,
// copies the service's tables in one target transaction, verifies, and prints a report. Exit 0
// when the target holds a verified copy (also when it already did), 1 on any error or mismatch,
// 2 on bad usage. Passwords come only from the files; messages show the redacted URLs.
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/audit/audit_log.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/copy.h"
#include "runtime/storage/database_url.h"
#include "runtime/storage/open.h"
#include "runtime/storage/transact.h"
#include "services/engagement/storage/copy_plan.h"
#include "services/finance/storage/copy_plan.h"
#include "services/registry/storage/copy_plan.h"

namespace dorset {
namespace {

namespace storage = runtime::storage;

constexpr char kUsage[] =
    "usage: dorset-store copy --service registry|finance|engagement --from URL --to URL\n"
    "                         [--from_password_file FILE] [--to_password_file FILE]\n"
    "  URL: sqlite:///absolute/path.db or postgres://user@host:port/db (no password in it)\n";

// Each service's copy plan lives beside its schema (services/<svc>/storage/copy_plan.cc).
absl::StatusOr<const storage::CopyPlan*> PlanFor(const std::string& service) {
  if (service == "finance") return &finance::FinanceCopyPlan();
  if (service == "registry") return &registry::RegistryCopyPlan();
  if (service == "engagement") return &engagement::EngagementCopyPlan();
  return absl::InvalidArgumentError(absl::StrCat("--service: unknown service \"", service,
                                                 "\" (known: registry, finance, engagement)"));
}

struct Side {
  storage::DatabaseUrl url;
  std::unique_ptr<storage::Database> db;
};

absl::StatusOr<Side> OpenSide(const std::string& flag, const std::string& value,
                              const std::string& password_file, const storage::CopyPlan& plan) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, " is required"));
  absl::StatusOr<storage::DatabaseUrl> url = storage::ParseDatabaseUrl(value, "", plan.service);
  if (!url.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", url.status().message()));
  }
  std::string password;
  if (!password_file.empty()) {
    ASSIGN_OR_RETURN(password, storage::ReadPasswordFile(password_file));
  }
  if (url->kind == storage::DatabaseUrl::Kind::kSqlite && plan.prepare_sqlite != nullptr) {
    // A store from before the lane, brought to the lane as the service itself does at open.
    RETURN_IF_ERROR(plan.prepare_sqlite(url->sqlite_path));
  }
  storage::OpenSettings settings = plan.open_settings;
  settings.password = password;
  ASSIGN_OR_RETURN(auto db, storage::OpenDatabase(*url, settings, plan.migrations));
  // Open succeeds while PostgreSQL is away; the copy tool wants an answer now.
  absl::Status health = db->Health();
  if (!health.ok()) {
    return absl::Status(health.code(),
                        absl::StrCat("--", flag, " ", url->Redacted(), ": ", health.message()));
  }
  return Side{*std::move(url), std::move(db)};
}

// The copy moves a store, not its audit trail (docs/storage.md). A group-committed write's event
// waits in the store's `audit_outbox` until the service's audit writer moves it into the trail
// (runtime/audit/audit_outbox.h); a service killed with no restart since leaves events there,
// which the copy does not carry. So, as the service's own start would, the events of a SQLite
// source are first moved into its trail, audit.db beside the store, exactly once (the trail
// records how far it moved). On PostgreSQL the trail is a table of the same database: the rows
// stay there and the next replica that starts moves them. A store without an outbox (the
// registry's) has nothing to move.
absl::Status MoveOutboxIntoTrail(const Side& from, const std::string& service) {
  if (from.url.kind != storage::DatabaseUrl::Kind::kSqlite) return absl::OkStatus();
  // Events, not rows: a row holds a group's events (packed) or, from an older version, one.
  absl::StatusOr<int64_t> rows =
      storage::ReadReturning(*from.db, [](storage::Transaction& tx) -> absl::StatusOr<int64_t> {
        ASSIGN_OR_RETURN(storage::Statement count,
                         tx.Prepare("SELECT COALESCE(SUM(event_count), 0) FROM audit_outbox"));
        ASSIGN_OR_RETURN(bool row, count.Step());
        return row ? count.Int(0) : 0;
      });
  if (!rows.ok() || *rows == 0) return absl::OkStatus();  // no outbox, or nothing in it
  const std::filesystem::path dir = std::filesystem::path(from.url.sqlite_path).parent_path();
  const std::string trail = (dir / "audit.db").string();
  std::error_code error;
  if (!std::filesystem::exists(trail, error)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--from: ", *rows, " audit event(s) are still in the store's audit outbox and its trail ",
        trail,
        " is not beside it; copy from the service's data directory, where the service moves "
        "them into audit.db, or start the service once on this store first"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<runtime::AuditLog> audit, runtime::AuditLog::Open(dir.string()));
  std::unique_ptr<runtime::AuditOutbox> outbox = audit->AttachOutbox(*from.db, service);
  if (outbox == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("--from: the audit outbox's ", *rows, " event(s) cannot be moved into ", trail,
                     " (DORSET_AUDIT_OUTBOX=off, or the warning above says why)"));
  }
  if (!audit->Flush()) {
    return absl::UnavailableError(absl::StrCat("--from: moving the audit outbox into ", trail, ": ",
                                               audit->Health().message()));
  }
  std::cout << "audit outbox: " << *rows << " event(s) moved into " << trail
            << " (or there already)\n";
  return absl::OkStatus();
}

int Copy(const std::map<std::string, std::string>& flags) {
  auto get = [&](const std::string& name) {
    auto it = flags.find(name);
    return it == flags.end() ? std::string() : it->second;
  };
  absl::StatusOr<const storage::CopyPlan*> plan = PlanFor(get("service"));
  if (!plan.ok()) {
    std::cerr << "dorset-store: " << plan.status() << "\n";
    return plan.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  absl::StatusOr<Side> from = OpenSide("from", get("from"), get("from_password_file"), **plan);
  if (!from.ok()) {
    std::cerr << "dorset-store: " << from.status() << "\n";
    return 1;
  }
  absl::StatusOr<Side> to = OpenSide("to", get("to"), get("to_password_file"), **plan);
  if (!to.ok()) {
    std::cerr << "dorset-store: " << to.status() << "\n";
    return 1;
  }
  if (from->url.Redacted() == to->url.Redacted()) {
    std::cerr << "dorset-store: INVALID_ARGUMENT: --from and --to are the same database\n";
    return 2;
  }
  std::cout << "dorset-store copy --service " << (*plan)->service << " from "
            << from->url.Redacted() << " to " << to->url.Redacted() << "\n";
  if (absl::Status moved = MoveOutboxIntoTrail(*from, (*plan)->service); !moved.ok()) {
    std::cerr << "dorset-store: " << moved << "\n";
    return 1;
  }
  absl::StatusOr<storage::CopyReport> report = storage::CopyService(*from->db, *to->db, **plan);
  if (!report.ok()) {
    std::cerr << "dorset-store: " << report.status() << "\n";
    return 1;
  }
  std::cout << storage::FormatCopyReport(*report) << "verified\n";
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) != "copy") {
    std::cerr << kUsage;
    return 2;
  }
  static const char* const kKnown[] = {"service", "from", "to", "from_password_file",
                                       "to_password_file"};
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (!absl::StartsWith(arg, "--")) {
      std::cerr << "dorset-store: unexpected argument \"" << arg << "\"\n" << kUsage;
      return 2;
    }
    arg = arg.substr(2);
    std::string value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::cerr << "dorset-store: --" << arg << " needs a value\n" << kUsage;
      return 2;
    }
    bool known = false;
    for (const char* name : kKnown) known = known || arg == name;
    if (!known) {
      std::cerr << "dorset-store: unknown flag --" << arg << "\n" << kUsage;
      return 2;
    }
    flags[arg] = value;
  }
  return Copy(flags);
}

}  // namespace
}  // namespace dorset

int main(int argc, char** argv) { return dorset::Main(argc, argv); }
