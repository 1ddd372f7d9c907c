// The one way every Dorset List method pages (AIP-158, issue 12): keyset paging. The statement
// selects the rows after the previous page's last key, in key order, with LIMIT page_size + 1,
// so the extra row says whether another page exists without counting; the page token is the
// last key returned, signed and bound to the query by runtime/api/page_token (a token of
// another query, or edited, is INVALID_ARGUMENT naming `page_token`). A page also ends early
// when its items reach the reply's byte budget (runtime/api/reply_budget.h); the next page then
// resumes after the last item returned. No OFFSET: a page costs the same wherever it starts,
// and rows inserted before the position do not shift later pages.
//
//   ASSIGN_OR_RETURN(KeysetPage page, KeysetPage::Start(codec, "ListPlans", request.page_size(),
//                                                       request.page_token()));
//   ... "SELECT ... WHERE name > ? ORDER BY name LIMIT ?", bind page.after(), page.fetch_limit()
//   RETURN_IF_ERROR(page.Collect(stmt, FromRow, [](const Statement& row) { return row.Text(0); },
//                                *response.mutable_plans(), response.mutable_next_page_token()));
//
// A key made of several columns (e.g. a sort value then an id) is one string the caller
// composes and splits (the codec keeps it opaque).
#ifndef DORSET_RUNTIME_STORAGE_KEYSET_PAGE_H_
#define DORSET_RUNTIME_STORAGE_KEYSET_PAGE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "runtime/api/page_token.h"
#include "runtime/api/reply_budget.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {

struct PageLimits {
  int default_size = 50;  // page_size 0
  int max_size = 500;     // larger requests are clamped to it
  // Item bytes one reply may carry (runtime::ReplyByteBudget); unlimited by default.
  size_t max_bytes = std::numeric_limits<size_t>::max();
};

class KeysetPage {
 public:
  // Validates `page_size` (negative: INVALID_ARGUMENT naming `page_size`) and decodes
  // `page_token` for `fingerprint` (a string naming the query: method, parent, filter and order -
  // anything that, changed, must invalidate the token).
  static absl::StatusOr<KeysetPage> Start(const PageTokenCodec& codec, std::string fingerprint,
                                          int32_t page_size, std::string_view page_token,
                                          PageLimits limits = {});

  // True on the first page (no token).
  bool first() const { return first_; }
  // The last key of the previous page ("" on the first page): select keys after it.
  const std::string& after() const { return after_; }
  int page_size() const { return page_size_; }
  // The LIMIT to bind: one row more than the page, to learn whether another page follows.
  int64_t fetch_limit() const { return static_cast<int64_t>(page_size_) + 1; }
  // The token resuming after `last_key`.
  std::string TokenAfter(std::string_view last_key) const {
    return codec_->Encode(fingerprint_, last_key);
  }

  // Steps `stmt` (selected with fetch_limit(), in key order) and appends to `items` up to
  // page_size() items built by `from_row(stmt)` (returning Item or StatusOr<Item>) that fit
  // max_bytes (at least one); when a further row exists, sets `*next_page_token` to resume
  // after the key of the last item appended, `key_of(stmt)` (a string) read from its row. `Stmt` is
  // any statement with `StatusOr<bool> Step()` (runtime/storage's, or runtime/sqlite's).
  template <typename Stmt, typename Item, typename FromRow, typename KeyOf>
  absl::Status Collect(Stmt& stmt, FromRow&& from_row, KeyOf&& key_of,
                       google::protobuf::RepeatedPtrField<Item>& items,
                       std::string* next_page_token) const {
    ReplyBudget budget(max_bytes_);
    int taken = 0;
    std::string last_key;
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      if (taken == page_size_) break;
      Item item;
      if constexpr (std::is_same_v<std::invoke_result_t<FromRow&, Stmt&>, Item>) {
        item = from_row(stmt);
      } else {
        ASSIGN_OR_RETURN(item, from_row(stmt));
      }
      if (!budget.Take(item)) break;
      last_key = key_of(static_cast<const Stmt&>(stmt));
      *items.Add() = std::move(item);
      ++taken;
    }
    *next_page_token = TokenAfter(last_key);
    return absl::OkStatus();
  }

 private:
  KeysetPage(const PageTokenCodec& codec, std::string fingerprint, int page_size, size_t max_bytes,
             std::string after, bool first)
      : codec_(&codec),
        fingerprint_(std::move(fingerprint)),
        page_size_(page_size),
        max_bytes_(max_bytes),
        after_(std::move(after)),
        first_(first) {}

  const PageTokenCodec* codec_;
  std::string fingerprint_;
  int page_size_;
  size_t max_bytes_;
  std::string after_;
  bool first_;
};

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_KEYSET_PAGE_H_
