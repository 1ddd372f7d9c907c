// The registry's rules for text: every string it stores or returns is valid UTF-8 without
// control characters. Files made in spreadsheets are often Windows-1252, so a record that is
// not valid UTF-8 is read as Windows-1252 (docs/registry.md, "Text and encodings").
#ifndef DORSET_SERVICES_REGISTRY_TEXT_H_
#define DORSET_SERVICES_REGISTRY_TEXT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dorset::registry {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);

// Reads `s` as Windows-1252 (a superset of Latin-1's printable range) and returns it as UTF-8.
// The five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) become U+FFFD.
std::string DecodeWindows1252(std::string_view s);

// `s` when it is valid UTF-8, else DecodeWindows1252(s).
std::string AsUtf8(std::string_view s);

// The first control character in valid UTF-8 `s` (C0 U+0000-U+001F, DEL, C1 U+0080-U+009F),
// or nullopt. Control characters are refused in every stored field (a newline inside an
// address line would break every printed form and CSV export).
std::optional<char32_t> FirstControlCharacter(std::string_view s);

// Number of code points in valid UTF-8 `s` (limits count characters, not bytes).
size_t CodePointCount(std::string_view s);

// "U+000A" for error messages.
std::string CodePointName(char32_t c);

// Any bytes made safe to put in a reply: valid UTF-8 (Windows-1252 when not), control
// characters shown as U+FFFD, at most `max_code_points` (longer values end with "...").
std::string ForReply(std::string_view s, size_t max_code_points = 64);

// Why `s` is not acceptable stored text (not UTF-8, a control character, longer than
// `max_code_points`), or nullopt when it is.
std::optional<std::string> TextProblem(std::string_view s, size_t max_code_points);

// Stored text repaired for reading: AsUtf8 and control characters replaced by spaces.
// Returns nullopt when `s` is already clean (the common case: nothing copied).
std::optional<std::string> RepairedText(std::string_view s);

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_TEXT_H_
