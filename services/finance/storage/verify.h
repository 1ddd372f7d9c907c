// VerifyLedger (docs/finance.md "Tamper-evident ledger"): recomputes every financial year's hash
// chain from the postings as stored, checks each seal's HMAC-SHA-256 signature and that the chain
// recomputed still reaches the head it sealed, that no posting is dated in a month that was
// closed when it was written, that period rows agree with their signed seals, and that each
// close's stored reports still have the digest it signed. Read-only, one snapshot.
#ifndef DORSET_SERVICES_FINANCE_STORAGE_VERIFY_H_
#define DORSET_SERVICES_FINANCE_STORAGE_VERIFY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/finance/storage/store.h"

namespace dorset::finance {

struct LedgerFinding {
  int64_t posting_id = 0;  // 0 when the finding is about a period only
  std::string period;      // financialYears/…/periods/N when it is about a seal or period
  std::string problem;
};

struct LedgerVerification {
  int64_t postings_checked = 0;
  int64_t seals_checked = 0;
  // Ordered by posting id (period-only findings last); empty when everything matches.
  std::vector<LedgerFinding> findings;
  // The first posting that does not match (0 when none): findings.front() when it names one.
  int64_t first_mismatch = 0;
};

// `year` = nullopt verifies every year the store holds.
absl::StatusOr<LedgerVerification> VerifyLedger(FinanceStore& store, std::string_view seal_key,
                                                std::optional<int> year);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_STORAGE_VERIFY_H_
