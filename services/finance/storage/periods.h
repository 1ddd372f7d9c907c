// Month-end close (docs/finance.md "Month-end close"): each month of a financial year is a
// period OPEN -> CLOSING -> CLOSED. Closing seals the year's chain head with HMAC-SHA-256 and
// stores every plan's report for the month as it stands, so that report is reproduced byte for
// byte later; a reopen (finance-admin) is signed and recorded the same way.
//
// Months close in order within a year: StartClose needs every earlier month CLOSED, Reopen needs
// the next month OPEN. So the closed months of a year are always M1..Mk.
#ifndef DORSET_SERVICES_FINANCE_STORAGE_PERIODS_H_
#define DORSET_SERVICES_FINANCE_STORAGE_PERIODS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "runtime/storage/statement.h"
#include "services/finance/storage/store.h"

namespace dorset::finance {

// Period states as stored (a month without a row is OPEN).
inline constexpr int kPeriodOpen = 1;
inline constexpr int kPeriodClosing = 2;
inline constexpr int kPeriodClosed = 3;

// "financialYears/2020-21/periods/3".
std::string PeriodName(int year, int month);
// The reverse; INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::pair<int, int>> ParsePeriodName(const std::string& name,
                                                    std::string_view field);

// A period's state: prepare kPeriodStateSql, then ReadPeriodState for each (year, month).
extern const char kPeriodStateSql[];
absl::StatusOr<int> ReadPeriodState(runtime::storage::Statement& stmt, int year, int month);

struct PeriodInfo {
  int year = 0;
  int month = 0;
  int state = kPeriodOpen;
  int64_t update_micros = 0;  // 0 when never changed
  // The current close (CLOSED only): its seal.
  int64_t seal_id = 0;
  int64_t head_posting_id = 0;
  std::string head_hash;
  std::string closed_by;
  int64_t close_micros = 0;
};

class MonthClose {
 public:
  MonthClose(FinanceStore& store, std::string seal_key)
      : store_(store), key_(std::move(seal_key)) {}

  // The twelve months of `year`.
  absl::StatusOr<std::vector<PeriodInfo>> List(int year);
  absl::StatusOr<PeriodInfo> Get(int year, int month);
  // OPEN -> CLOSING (postings still accepted: late adjustments). Every earlier month must be
  // CLOSED.
  absl::StatusOr<PeriodInfo> StartClose(int year, int month, const std::string& principal);
  // CLOSING -> CLOSED: seals the year's chain head and stores each plan's report.
  absl::StatusOr<PeriodInfo> Close(int year, int month, const std::string& principal);
  // CLOSING or CLOSED -> OPEN, with a reason; a CLOSED month's reopen is signed like a close.
  // The next month must be OPEN.
  absl::StatusOr<PeriodInfo> Reopen(int year, int month, const std::string& principal,
                                    const std::string& reason);
  // The report of `plan` stored when (year, month) closed; nullopt when the month is not closed
  // or the plan did not exist then. Its RAG is re-rated with `thresholds` (the figures and the
  // delivery are as stored), so the same request gives the same bytes.
  absl::StatusOr<std::optional<v1::Report>> ClosedReport(const std::string& plan, int year,
                                                         int month,
                                                         const v1::RagThresholds& thresholds);
  // The months of `year` that are CLOSED.
  absl::StatusOr<std::vector<int>> ClosedMonths(int year);
  // The state of each month of `year` (index 0 = M1), in one read.
  absl::StatusOr<std::array<int, 12>> States(int year);

  const std::string& key() const { return key_; }

 private:
  FinanceStore& store_;
  const std::string key_;
};

// Deterministic protobuf bytes of a report (what a close stores and digests).
std::string ReportBytes(const v1::Report& report);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_PERIODS_H_
