// The console's pages, one file per page or area, each registering its routes. Public pages
// (no login) are under /consultations; staff pages will sit beside them, each in its own file.
#ifndef DORSET_CONSOLE_PAGES_PAGES_H_
#define DORSET_CONSOLE_PAGES_PAGES_H_

#include "console/console_context.h"

namespace dorset::console {

// /consultations (open, closed, outcome published) and /consultations/{id}.
void RegisterConsultationPages(Router& router);
// /consultations/{id}/you-said-we-did: "We asked, you said, we did" for a published outcome.
void RegisterYouSaidWeDidPage(Router& router);
// /consultations/{id}/respond: the public response form (GET) and its post (POST).
void RegisterRespondPages(Router& router);
// /staff/login (GET form, POST), /staff/logout (POST) and /staff, the staff home (login).
void RegisterStaffPages(Router& router);
// /staff/ops: every service's liveness, readiness, store and cache, calls and errors from its
// own metrics, and the registry's change feed (login).
void RegisterOpsPage(Router& router);
// /staff/finance: the monthly report (and as CSV), the gap trajectory chart, per head (login).
void RegisterFinancePages(Router& router);
// /staff/engagement: activities with lifecycle actions, aggregates as charts, participation per
// 1,000, stakeholders as the person's role sees them (login).
void RegisterEngagementPages(Router& router);
// /staff/registry: practice search, a practice with history and successor, the area tree.
void RegisterRegistryPages(Router& router);

}  // namespace dorset::console

#endif  // DORSET_CONSOLE_PAGES_PAGES_H_
