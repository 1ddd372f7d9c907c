// ListAuditEvents' pages of the audit trail (AuditLog::List, audit_log.h): keyset paging by
// sequence, on audit.db's reader connection or the shared PostgreSQL database.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/audit_rows.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/keyset_page.h"

namespace dorset::runtime {
namespace {

using audit_rows::EventFromRow;

constexpr char kSelect[] =
    "SELECT sequence, time_us, principal, method, resource, action, request_id, outcome FROM "
    "audit_event WHERE sequence > ? AND (? = '' OR principal = ?) ORDER BY sequence LIMIT ?";

}  // namespace

absl::StatusOr<common::v1::ListAuditEventsResponse> AuditLog::List(
    const common::v1::ListAuditEventsRequest& request) {
  if (request.after_sequence() < 0) {
    return InvalidArgument("after_sequence", "must not be negative");
  }
  // The filters are the token's fingerprint: a token replayed with another principal or start
  // is INVALID_ARGUMENT naming page_token. The key is the last sequence returned.
  ASSIGN_OR_RETURN(
      storage::KeysetPage page,
      storage::KeysetPage::Start(
          page_tokens_,
          absl::StrCat("ListAuditEvents\n", request.principal(), "\n", request.after_sequence()),
          request.page_size(), request.page_token(), {.default_size = 100, .max_size = 1000}));
  int64_t after = request.after_sequence();
  if (!page.first() && !absl::SimpleAtoi(page.after(), &after)) {
    return InvalidArgument("page_token", "does not hold a sequence");
  }
  common::v1::ListAuditEventsResponse response;
  auto collect = [&](auto& select) -> absl::Status {
    select.Bind(1, after)
        .Bind(2, request.principal())
        .Bind(3, request.principal())
        .Bind(4, page.fetch_limit());
    return page.Collect(
        select, [](const auto& row) { return EventFromRow(row); },
        [](const auto& row) { return absl::StrCat(row.Int(0)); }, *response.mutable_events(),
        response.mutable_next_page_token());
  };
  if (shared_ != nullptr) {
    RETURN_IF_ERROR(shared_->Read([&](storage::Transaction& tx) -> absl::Status {
      response.clear_events();
      response.clear_next_page_token();
      ASSIGN_OR_RETURN(storage::Statement select, tx.Prepare(kSelect));
      return collect(select);
    }));
  } else {
    absl::MutexLock lock(&reader_mu_);
    ASSIGN_OR_RETURN(sqlite::Statement select, reader_->Prepare(kSelect));
    RETURN_IF_ERROR(collect(select));
  }
  // The deprecated field keeps its old meaning for callers that still read it: the last
  // sequence of a full page, 0 when the trail holds nothing after this page.
  if (!response.next_page_token().empty()) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    response.set_next_after_sequence(response.events(response.events_size() - 1).sequence());
#pragma GCC diagnostic pop
  }
  return response;
}

}  // namespace dorset::runtime
