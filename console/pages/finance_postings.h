// Posting an actual from the finance page (login): the form (a scheme of the plan, an amount in
// pounds, a reason; the year and month of the report shown) and its POST, which calls
// CreatePosting as the logged-in person, so only roles with finance writes may post (others get
// the 403 page). Each form carries a submission id sent as the request_id: a double submit
// posts once (the ledger's own rule).
#ifndef DORSET_CONSOLE_PAGES_FINANCE_POSTINGS_H_
#define DORSET_CONSOLE_PAGES_FINANCE_POSTINGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "console/console_context.h"

namespace dorset::console {

// The form for `year`/`month`, with the plan's schemes as the person reads them.
absl::StatusOr<SafeHtml> PostingForm(ConsoleContext& context, const Session& session,
                                     const std::string& csrf, const std::string& year, int month);

// POST /staff/finance/postings.
void RegisterFinancePostings(Router& router);

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_PAGES_FINANCE_POSTINGS_H_
