#include "services/registry/storage/name_function.h"

#include <sqlite3.h>

#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace dorset::registry {

namespace {

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

void NameContainsFn(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);  // as instr(LOWER(NULL), ...)
    return;
  }
  // sqlite3_value_blob gives a text's UTF-8 bytes as they are (no copy, no terminator added).
  const auto* name = static_cast<const char*>(sqlite3_value_blob(argv[0]));
  const int name_size = sqlite3_value_bytes(argv[0]);
  const auto* text = static_cast<const char*>(sqlite3_value_blob(argv[1]));
  const int text_size = sqlite3_value_bytes(argv[1]);
  sqlite3_result_int(ctx,
                     NameContainsLowered(std::string_view(name == nullptr ? "" : name, name_size),
                                         std::string_view(text == nullptr ? "" : text, text_size)));
}

int RegisterOn(sqlite3* db, const char** error, const sqlite3_api_routines* /*api*/) {
  const int rc = sqlite3_create_function_v2(db, "dorset_name_contains", 2,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                            nullptr, &NameContainsFn, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK && error != nullptr) {
    *error = sqlite3_mprintf("registering dorset_name_contains: %s", sqlite3_errstr(rc));
  }
  return rc;
}

}  // namespace

bool NameContainsLowered(std::string_view name, std::string_view text) {
  if (text.empty()) return true;
  if (text.size() > name.size()) return false;
  // Candidates are the places of the text's first character in either case (memchr), each
  // then compared folded: most names have few (a per-character loop was ~280 instructions a
  // name of the national extract).
  const char first = text[0];
  const char upper = first >= 'a' && first <= 'z' ? static_cast<char>(first - ('a' - 'A')) : first;
  const char* const data = name.data();
  const size_t starts = name.size() - text.size() + 1;  // start positions [0, starts)
  size_t from = 0;
  while (from < starts) {
    const auto* lower_at = static_cast<const char*>(std::memchr(data + from, first, starts - from));
    const auto* upper_at =
        upper == first ? nullptr
                       : static_cast<const char*>(std::memchr(data + from, upper, starts - from));
    const char* at = lower_at == nullptr                          ? upper_at
                     : upper_at == nullptr || lower_at < upper_at ? lower_at
                                                                  : upper_at;
    if (at == nullptr) return false;
    size_t j = 1;
    while (j < text.size() && AsciiLower(at[j]) == text[j]) ++j;
    if (j == text.size()) return true;
    from = static_cast<size_t>(at - data) + 1;
  }
  return false;
}

absl::Status RegisterNameFunction() {
  static int rc = SQLITE_OK;
  static std::once_flag once;
  std::call_once(once,
                 [] { rc = sqlite3_auto_extension(reinterpret_cast<void (*)()>(&RegisterOn)); });
  if (rc != SQLITE_OK) {
    return absl::InternalError(
        absl::StrCat("registering dorset_name_contains: ", sqlite3_errstr(rc)));
  }
  return absl::OkStatus();
}

}  // namespace dorset::registry
