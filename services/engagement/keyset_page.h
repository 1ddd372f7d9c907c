// One page of a keyset-paginated List (AIP-158): the statement selects rows after the last key
// of the previous page, ordered by key, with LIMIT page_size + 1, so the extra row says whether
// another page exists without counting. A page also ends early when its items reach the reply's
// byte budget (runtime/api/reply_budget.h): the next page resumes after the last item returned.
// Used by every engagement List method.
#ifndef DORSET_SERVICES_ENGAGEMENT_KEYSET_PAGE_H_
#define DORSET_SERVICES_ENGAGEMENT_KEYSET_PAGE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "runtime/api/page_token.h"
#include "runtime/api/reply_budget.h"
#include "runtime/sqlite/database.h"
#include "runtime/status/status_macros.h"

namespace dorset::engagement {

// Appends up to `page_size` items built by `from_row` to `items`, and no more than `max_bytes`
// of them (at least one); when a further row exists, sets `next_page_token` to a token (for
// `fingerprint`) resuming after the last key returned, read from column `key_column`.
// `prepare`, when given, is applied to each item before it is measured (e.g. redaction).
template <typename Item, typename FromRow, typename Prepare = void (*)(Item&)>
absl::Status CollectKeysetPage(
    runtime::sqlite::Statement& stmt, int page_size, size_t max_bytes, int key_column,
    FromRow&& from_row, const runtime::PageTokenCodec& codec, std::string_view fingerprint,
    google::protobuf::RepeatedPtrField<Item>& items, std::string* next_page_token,
    Prepare prepare = [](Item&) {}) {
  runtime::ReplyBudget budget(max_bytes);
  std::string last_key;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::OkStatus();
    if (items.size() == page_size) break;
    Item item = from_row(stmt);
    prepare(item);
    if (!budget.Take(item)) break;
    last_key = stmt.Text(key_column);
    *items.Add() = std::move(item);
  }
  *next_page_token = codec.Encode(fingerprint, last_key);
  return absl::OkStatus();
}

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_KEYSET_PAGE_H_
