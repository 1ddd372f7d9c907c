#include "services/finance/storage/periods.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "runtime/auth/token_store.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/finance/calendar.h"
#include "services/finance/ledger_chain.h"
#include "services/finance/storage/chain.h"
#include "services/finance/storage/report.h"
#include "services/finance/storage/schema.h"

namespace dorset::finance {

using runtime::storage::Statement;

const char kPeriodStateSql[] = "SELECT state FROM period WHERE year = ? AND month = ?";

namespace {

constexpr char kPeriodSelect[] =
    "SELECT p.state, p.update_micros, s.id, s.head_posting_id, s.head_hash, s.principal, "
    "s.create_micros FROM period p LEFT JOIN period_seal s ON s.id = p.seal_id WHERE p.year = ? "
    "AND p.month = ?";

std::string Label(int year, int month) {
  return absl::StrCat(FormatFinancialYear(year), " M", month);
}

absl::StatusOr<PeriodInfo> ReadInfo(Transaction& tx, int year, int month) {
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(kPeriodSelect));
  stmt.Bind(1, year).Bind(2, month);
  PeriodInfo info;
  info.year = year;
  info.month = month;
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return info;
  info.state = static_cast<int>(stmt.Int(0));
  info.update_micros = stmt.Int(1);
  if (info.state == kPeriodClosed && !stmt.IsNull(2)) {
    info.seal_id = stmt.Int(2);
    info.head_posting_id = stmt.Int(3);
    info.head_hash = stmt.Text(4);
    info.closed_by = stmt.Text(5);
    info.close_micros = stmt.Int(6);
  }
  return info;
}

absl::Status SetState(Transaction& tx, int year, int month, int state,
                      std::optional<int64_t> seal_id, int64_t now) {
  ASSIGN_OR_RETURN(Statement upsert,
                   tx.Prepare("INSERT INTO period(year, month, state, seal_id, update_micros) "
                              "VALUES (?, ?, ?, ?, ?) ON CONFLICT (year, month) DO UPDATE SET "
                              "state = excluded.state, seal_id = excluded.seal_id, "
                              "update_micros = excluded.update_micros"));
  upsert.Bind(1, year).Bind(2, month).Bind(3, state).Bind(4, seal_id).Bind(5, now);
  return upsert.Run();
}

absl::Status RequireEarlierClosed(Transaction& tx, int year, int month) {
  ASSIGN_OR_RETURN(Statement state, tx.Prepare(kPeriodStateSql));
  for (int m = 1; m < month; ++m) {
    ASSIGN_OR_RETURN(int s, ReadPeriodState(state, year, m));
    if (s != kPeriodClosed) {
      return runtime::FailedPrecondition(
          "PERIOD", PeriodName(year, m),
          absl::StrCat("months close in order: close ", Label(year, m), " before ",
                       Label(year, month)));
    }
  }
  return absl::OkStatus();
}

// Appends a signed seal of the year's chain head; returns its id.
absl::StatusOr<int64_t> WriteSeal(Transaction& tx, const std::string& key, SealContent content) {
  RETURN_IF_ERROR(BackfillChain(tx));
  ASSIGN_OR_RETURN(ChainHead head, ReadChainHead(tx, content.year));
  content.head_posting_id = head.posting_id;
  content.head_hash = head.hash;
  content.posting_count = head.count;
  ASSIGN_OR_RETURN(Statement next, tx.Prepare("SELECT COALESCE(MAX(id), 0) + 1 FROM period_seal"));
  ASSIGN_OR_RETURN(bool row, next.Step());
  if (!row) return runtime::Internal("period_seal: no next id");
  const int64_t id = next.Int(0);
  ASSIGN_OR_RETURN(
      Statement insert,
      tx.Prepare("INSERT INTO period_seal(id, year, month, action, head_posting_id, head_hash, "
                 "posting_count, snapshot_digest, principal, reason, create_micros, signature) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  insert.Bind(1, id).Bind(2, content.year).Bind(3, content.month).Bind(4, content.action);
  insert.Bind(5, content.head_posting_id).Bind(6, content.head_hash);
  insert.Bind(7, content.posting_count).Bind(8, content.snapshot_digest);
  insert.Bind(9, content.principal).Bind(10, content.reason).Bind(11, content.create_micros);
  insert.Bind(12, SealSignature(key, content));
  RETURN_IF_ERROR(insert.Run());
  return id;
}

}  // namespace

std::string PeriodName(int year, int month) {
  return absl::StrCat("financialYears/", FormatFinancialYear(year), "/periods/", month);
}

absl::StatusOr<std::pair<int, int>> ParsePeriodName(const std::string& name,
                                                    std::string_view field) {
  const std::vector<std::string> parts = absl::StrSplit(name, '/');
  int month = 0;
  if (parts.size() != 4 || parts[0] != "financialYears" || parts[2] != "periods" ||
      !absl::SimpleAtoi(parts[3], &month)) {
    return runtime::InvalidArgument(
        field, "a period name is financialYears/{financial_year}/periods/{month}");
  }
  ASSIGN_OR_RETURN(int year, ParseFinancialYear(parts[1], field));
  RETURN_IF_ERROR(CheckMonth(month, field));
  return std::make_pair(year, month);
}

absl::StatusOr<int> ReadPeriodState(Statement& stmt, int year, int month) {
  stmt.Reset();
  stmt.Bind(1, year).Bind(2, month);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  const int state = found ? static_cast<int>(stmt.Int(0)) : kPeriodOpen;
  stmt.Reset();
  return state;
}

std::string ReportBytes(const v1::Report& report) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    report.SerializeToCodedStream(&coded);
  }
  return bytes;
}

absl::StatusOr<std::vector<PeriodInfo>> MonthClose::List(int year) {
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<std::vector<PeriodInfo>> {
    std::vector<PeriodInfo> out;
    for (int m = 1; m <= 12; ++m) {
      ASSIGN_OR_RETURN(PeriodInfo info, ReadInfo(tx, year, m));
      out.push_back(std::move(info));
    }
    return out;
  });
}

absl::StatusOr<PeriodInfo> MonthClose::Get(int year, int month) {
  return store_.Read([&](Transaction& tx) { return ReadInfo(tx, year, month); });
}

absl::StatusOr<std::vector<int>> MonthClose::ClosedMonths(int year) {
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<std::vector<int>> {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT month FROM period WHERE year = ? AND "
                                                "state = ? ORDER BY month"));
    stmt.Bind(1, year).Bind(2, kPeriodClosed);
    std::vector<int> months;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      months.push_back(static_cast<int>(stmt.Int(0)));
    }
    return months;
  });
}

absl::StatusOr<std::array<int, 12>> MonthClose::States(int year) {
  return store_.Read([&](Transaction& tx) -> absl::StatusOr<std::array<int, 12>> {
    std::array<int, 12> states;
    states.fill(kPeriodOpen);  // a month without a row is OPEN
    ASSIGN_OR_RETURN(Statement stmt,
                     tx.Prepare("SELECT month, state FROM period WHERE year = ? ORDER BY month"));
    stmt.Bind(1, year);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      const int64_t month = stmt.Int(0);
      if (month >= 1 && month <= 12) states[month - 1] = static_cast<int>(stmt.Int(1));
    }
    return states;
  });
}

absl::StatusOr<PeriodInfo> MonthClose::StartClose(int year, int month,
                                                  const std::string& principal) {
  (void)principal;  // the runtime's audit trail records who
  return store_.Write([&](Transaction& tx) -> absl::StatusOr<PeriodInfo> {
    ASSIGN_OR_RETURN(PeriodInfo info, ReadInfo(tx, year, month));
    if (info.state != kPeriodOpen) {
      return runtime::FailedPrecondition(
          "PERIOD", PeriodName(year, month),
          absl::StrCat(Label(year, month), " is ",
                       info.state == kPeriodClosing ? "already closing" : "closed"));
    }
    RETURN_IF_ERROR(RequireEarlierClosed(tx, year, month));
    RETURN_IF_ERROR(SetState(tx, year, month, kPeriodClosing, std::nullopt, NowMicros()));
    return ReadInfo(tx, year, month);
  });
}

absl::StatusOr<PeriodInfo> MonthClose::Close(int year, int month, const std::string& principal) {
  return store_.Write([&](Transaction& tx) -> absl::StatusOr<PeriodInfo> {
    ASSIGN_OR_RETURN(PeriodInfo info, ReadInfo(tx, year, month));
    if (info.state != kPeriodClosing) {
      return runtime::FailedPrecondition(
          "PERIOD", PeriodName(year, month),
          info.state == kPeriodClosed
              ? absl::StrCat(Label(year, month), " is already closed")
              : absl::StrCat(Label(year, month), " is open: start its close first"));
    }
    RETURN_IF_ERROR(RequireEarlierClosed(tx, year, month));
    // Every plan's report as it stands now, with the default thresholds (a later request's
    // thresholds only re-rate the RAG of these figures).
    ASSIGN_OR_RETURN(Statement plans,
                     tx.Prepare("SELECT name FROM node WHERE kind = ? ORDER BY name"));
    plans.Bind(1, kNodePlan);
    std::vector<std::string> plan_names;
    while (true) {
      ASSIGN_OR_RETURN(bool row, plans.Step());
      if (!row) break;
      plan_names.push_back(plans.Text(0));
    }
    std::vector<std::pair<std::string, std::string>> reports;  // plan, bytes (by plan name)
    std::string digest_input = "dorset.finance.closed_reports.v1;";
    for (const std::string& plan : plan_names) {
      ASSIGN_OR_RETURN(PlanData data, LoadPlanDataIn(tx, plan, year));
      ASSIGN_OR_RETURN(v1::Report report, BuildReport(data, year, month, RagBasisPoints{}));
      std::string bytes = ReportBytes(report);
      absl::StrAppend(&digest_input, plan.size(), ":", plan, ";", bytes.size(), ":", bytes, ";");
      reports.emplace_back(plan, std::move(bytes));
    }
    const int64_t now = NowMicros();
    ASSIGN_OR_RETURN(int64_t seal_id,
                     WriteSeal(tx, key_,
                               SealContent{.year = year,
                                           .month = month,
                                           .action = "close",
                                           .head_posting_id = 0,
                                           .head_hash = "",
                                           .posting_count = 0,
                                           .snapshot_digest = runtime::Sha256Hex(digest_input),
                                           .principal = principal,
                                           .reason = "",
                                           .create_micros = now}));
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO closed_report(seal_id, plan, "
                                                  "report) VALUES (?, ?, ?)"));
    for (const auto& [plan, bytes] : reports) {
      insert.Reset();
      insert.Bind(1, seal_id).Bind(2, plan).BindBlob(3, bytes);
      RETURN_IF_ERROR(insert.Run());
    }
    RETURN_IF_ERROR(SetState(tx, year, month, kPeriodClosed, seal_id, now));
    return ReadInfo(tx, year, month);
  });
}

absl::StatusOr<PeriodInfo> MonthClose::Reopen(int year, int month, const std::string& principal,
                                              const std::string& reason) {
  if (reason.empty()) {
    return runtime::InvalidArgument("reason", "a reopen needs a reason (it is kept with the seal)");
  }
  return store_.Write([&](Transaction& tx) -> absl::StatusOr<PeriodInfo> {
    ASSIGN_OR_RETURN(PeriodInfo info, ReadInfo(tx, year, month));
    if (info.state == kPeriodOpen) {
      return runtime::FailedPrecondition("PERIOD", PeriodName(year, month),
                                         absl::StrCat(Label(year, month), " is already open"));
    }
    if (month < 12) {
      ASSIGN_OR_RETURN(Statement state, tx.Prepare(kPeriodStateSql));
      ASSIGN_OR_RETURN(int next, ReadPeriodState(state, year, month + 1));
      if (next != kPeriodOpen) {
        return runtime::FailedPrecondition(
            "PERIOD", PeriodName(year, month + 1),
            absl::StrCat("months reopen in reverse order: reopen ", Label(year, month + 1),
                         " before ", Label(year, month)));
      }
    }
    const int64_t now = NowMicros();
    if (info.state == kPeriodClosed) {
      RETURN_IF_ERROR(WriteSeal(tx, key_,
                                SealContent{.year = year,
                                            .month = month,
                                            .action = "reopen",
                                            .head_posting_id = 0,
                                            .head_hash = "",
                                            .posting_count = 0,
                                            .snapshot_digest = "",
                                            .principal = principal,
                                            .reason = reason,
                                            .create_micros = now})
                          .status());
    }
    RETURN_IF_ERROR(SetState(tx, year, month, kPeriodOpen, std::nullopt, now));
    return ReadInfo(tx, year, month);
  });
}

absl::StatusOr<std::optional<v1::Report>> MonthClose::ClosedReport(
    const std::string& plan, int year, int month, const v1::RagThresholds& requested) {
  ASSIGN_OR_RETURN(RagBasisPoints thresholds, ResolveThresholds(requested));
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_.Read([&](Transaction& tx) -> absl::StatusOr<std::optional<std::string>> {
                     ASSIGN_OR_RETURN(
                         Statement stmt,
                         tx.Prepare("SELECT r.report FROM period p JOIN closed_report r ON "
                                    "r.seal_id = p.seal_id WHERE p.year = ? AND p.month = ? AND "
                                    "p.state = ? AND r.plan = ?"));
                     stmt.Bind(1, year).Bind(2, month).Bind(3, kPeriodClosed).Bind(4, plan);
                     ASSIGN_OR_RETURN(bool found, stmt.Step());
                     if (!found) return std::optional<std::string>();
                     return std::optional<std::string>(stmt.Blob(0));
                   }));
  if (!bytes) return std::optional<v1::Report>();
  v1::Report report;
  if (!report.ParseFromString(*bytes)) {
    return runtime::Internal(
        absl::StrCat("the closed report of ", plan, " for ", Label(year, month), " is damaged"));
  }
  RerateReport(report, thresholds);
  return std::optional<v1::Report>(std::move(report));
}

}  // namespace dorset::finance
