#include "services/engagement/domain/names.h"

#include "absl/container/inlined_vector.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"

namespace dorset::engagement {
namespace {

// A name's segments between '/' (as absl::StrSplit gives them, empty ones too), without an
// allocation for the names parsed on every call (a response's parent and themes).
absl::InlinedVector<std::string_view, 8> Segments(std::string_view name) {
  absl::InlinedVector<std::string_view, 8> out;
  size_t start = 0;
  while (true) {
    const size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(name.substr(start));
      return out;
    }
    out.push_back(name.substr(start, slash - start));
    start = slash + 1;
  }
}

// Registry ids: letters, digits, '-' and '_' (practice codes are upper case, e.g. J81016).
bool IsRegistryId(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<ChildName> ParseChild(std::string_view name, std::string_view collection,
                                     std::string_view field) {
  const auto parts = Segments(name);
  if (parts.size() != 4 || parts[0] != "activities" || parts[2] != collection ||
      !IsValidId(parts[1]) || !IsValidId(parts[3])) {
    return runtime::InvalidArgument(
        field, absl::StrCat("must be activities/{activity}/", ToAbsl(collection), "/{id}"));
  }
  return ChildName{std::string(parts[1]), std::string(parts[3])};
}

}  // namespace

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  if (id[0] < 'a' || id[0] > 'z') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return id.back() != '-';
}

std::string NewId(char prefix) {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  uint64_t bits;
  {
    absl::MutexLock lock(&mu);
    bits = absl::Uniform<uint64_t>(*gen);
  }
  return absl::StrFormat("%c%015x", prefix, bits & 0xfffffffffffffffULL);
}

std::string StakeholderName(std::string_view id) {
  return absl::StrCat("stakeholders/", ToAbsl(id));
}
std::string ActivityName(std::string_view id) { return absl::StrCat("activities/", ToAbsl(id)); }
std::string ThemeName(std::string_view activity, std::string_view theme) {
  return absl::StrCat("activities/", ToAbsl(activity), "/themes/", ToAbsl(theme));
}
std::string ResponseName(std::string_view activity, int64_t response) {
  return absl::StrCat("activities/", ToAbsl(activity), "/responses/", response);
}
std::string DecisionName(std::string_view activity, std::string_view decision) {
  return absl::StrCat("activities/", ToAbsl(activity), "/decisions/", ToAbsl(decision));
}

absl::StatusOr<std::string> ParseStakeholderName(std::string_view name, std::string_view field) {
  const auto parts = Segments(name);
  if (parts.size() != 2 || parts[0] != "stakeholders" || !IsValidId(parts[1])) {
    return runtime::InvalidArgument(field, "must be stakeholders/{stakeholder}");
  }
  return std::string(parts[1]);
}

absl::StatusOr<std::string> ParseActivityName(std::string_view name, std::string_view field) {
  const auto parts = Segments(name);
  if (parts.size() != 2 || parts[0] != "activities" || !IsValidId(parts[1])) {
    return runtime::InvalidArgument(field, "must be activities/{activity}");
  }
  return std::string(parts[1]);
}

absl::StatusOr<ChildName> ParseThemeName(std::string_view name, std::string_view field) {
  return ParseChild(name, "themes", field);
}

absl::StatusOr<ChildName> ParseDecisionName(std::string_view name, std::string_view field) {
  return ParseChild(name, "decisions", field);
}

absl::StatusOr<ResponseId> ParseResponseName(std::string_view name, std::string_view field) {
  const auto parts = Segments(name);
  ResponseId id;
  if (parts.size() != 4 || parts[0] != "activities" || parts[2] != "responses" ||
      !IsValidId(parts[1]) || !absl::SimpleAtoi(ToAbsl(parts[3]), &id.id) || id.id <= 0) {
    return runtime::InvalidArgument(field, "must be activities/{activity}/responses/{number}");
  }
  id.activity = std::string(parts[1]);
  return id;
}

absl::StatusOr<std::string> ParseActivitySingleton(std::string_view name, std::string_view suffix,
                                                   std::string_view field) {
  const auto parts = Segments(name);
  if (parts.size() != 3 || parts[0] != "activities" || parts[2] != suffix || !IsValidId(parts[1])) {
    return runtime::InvalidArgument(field,
                                    absl::StrCat("must be activities/{activity}/", ToAbsl(suffix)));
  }
  return std::string(parts[1]);
}

bool IsFinanceSchemeName(std::string_view name) {
  const auto parts = Segments(name);
  return parts.size() == 6 && parts[0] == "plans" && parts[2] == "programmes" &&
         parts[4] == "schemes" && IsRegistryId(parts[1]) && IsRegistryId(parts[3]) &&
         IsRegistryId(parts[5]);
}

bool IsLocalityName(std::string_view name) {
  const auto parts = Segments(name);
  return parts.size() == 2 && parts[0] == "localities" && IsRegistryId(parts[1]);
}

bool IsPracticeName(std::string_view name) {
  const auto parts = Segments(name);
  return parts.size() == 2 && parts[0] == "practices" && IsRegistryId(parts[1]);
}

}  // namespace dorset::engagement
