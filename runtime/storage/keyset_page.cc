// Keyset paging: the page size and the decoded token of one List call (see keyset_page.h).
#include "runtime/storage/keyset_page.h"

namespace dorset::runtime::storage {

absl::StatusOr<KeysetPage> KeysetPage::Start(const PageTokenCodec& codec, std::string fingerprint,
                                             int32_t page_size, std::string_view page_token,
                                             PageLimits limits) {
  ASSIGN_OR_RETURN(int size, EffectivePageSize(page_size, limits.default_size, limits.max_size));
  std::string after;
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(after, codec.Decode(fingerprint, page_token));
  }
  return KeysetPage(codec, std::move(fingerprint), size, limits.max_bytes, std::move(after),
                    page_token.empty());
}

}  // namespace dorset::runtime::storage
