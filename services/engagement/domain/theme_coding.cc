// Bulk theme coding (theme_coding.h).
#include "services/engagement/domain/theme_coding.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/theme_coding_rows.h"

namespace dorset::engagement {
namespace {

using runtime::storage::Transaction;

bool IsWordChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// FNV-1a, 64 bits: the preview token only has to tell two plans apart, not resist an attacker
// (the caller could simply preview again).
void Mix(uint64_t& h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= 0xff;
  h *= 1099511628211ULL;
}

}  // namespace

bool ContainsWord(const std::string& text, const std::string& keyword) {
  if (keyword.empty()) return false;
  for (size_t at = text.find(keyword); at != std::string::npos; at = text.find(keyword, at + 1)) {
    const bool starts = at == 0 || !IsWordChar(text[at - 1]);
    const size_t end = at + keyword.size();
    const bool ends = end == text.size() || !IsWordChar(text[end]);
    if (starts && ends) return true;
  }
  return false;
}

absl::StatusOr<ThemeCoder::Plan> ThemeCoder::Compute(
    const std::string& parent, const google::protobuf::RepeatedPtrField<v1::ThemeRule>& rules,
    int examples) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(parent, "parent"));
  RETURN_IF_ERROR(engagement_.CheckActivityExists(activity));
  if (rules.empty()) return runtime::InvalidArgument("rules", "at least one rule is required");
  if (rules.size() > 100) return runtime::InvalidArgument("rules", "at most 100");
  std::vector<std::vector<std::string>> keywords(rules.size());
  for (int i = 0; i < rules.size(); ++i) {
    const std::string field = absl::StrCat("rules[", i, "]");
    v1::GetThemeRequest get;
    get.set_name(rules[i].theme());
    ASSIGN_OR_RETURN(ChildName theme, ParseThemeName(rules[i].theme(), field + ".theme"));
    if (theme.activity != activity) {
      return runtime::InvalidArgument(field + ".theme", "must be a theme of the same activity");
    }
    v1::Theme found;
    if (!engagement_.themes_and_decisions().GetTheme(get, &found).ok()) {
      return runtime::InvalidArgument(field + ".theme", "no such theme");
    }
    if (rules[i].keywords().empty() || rules[i].keywords_size() > 50) {
      return runtime::InvalidArgument(field + ".keywords", "1 to 50 keywords");
    }
    for (int k = 0; k < rules[i].keywords_size(); ++k) {
      const std::string& word = rules[i].keywords(k);
      if (word.empty() || word.size() > 100) {
        return runtime::InvalidArgument(absl::StrCat(field, ".keywords[", k, "]"),
                                        "must be 1 to 100 bytes");
      }
      keywords[i].push_back(absl::AsciiStrToLower(word));
    }
  }
  Plan plan;
  plan.effects.resize(rules.size());
  for (int i = 0; i < rules.size(); ++i) plan.effects[i].set_theme(rules[i].theme());
  uint64_t hash = 14695981039346656037ULL;
  for (const v1::ThemeRule& rule : rules) Mix(hash, rule.SerializeAsString());
  // The coder reads every response's text (redaction is for what is returned; nothing of the
  // text is returned here but response names and counts).
  runtime::Caller reader;
  reader.principal = "theme-coding";
  reader.roles = {"personal-data-reader"};
  int64_t after = 0;
  while (true) {
    ASSIGN_OR_RETURN(Responses::ResponsePage page,
                     engagement_.responses().ResponsesAfter(reader, activity, after, 1000));
    for (const v1::Response& r : page.responses) {
      ++plan.examined;
      const std::string text = absl::AsciiStrToLower(r.text());
      std::vector<std::string> themes(r.themes().begin(), r.themes().end());
      bool changed = false;
      for (int i = 0; i < rules.size(); ++i) {
        const bool match = std::any_of(keywords[i].begin(), keywords[i].end(),
                                       [&](const std::string& k) { return ContainsWord(text, k); });
        if (!match) continue;
        v1::ThemeCodingEffect& effect = plan.effects[i];
        effect.set_matched(effect.matched() + 1);
        if (std::find(themes.begin(), themes.end(), rules[i].theme()) != themes.end()) continue;
        themes.push_back(rules[i].theme());
        changed = true;
        effect.set_to_add(effect.to_add() + 1);
        if (effect.example_responses_size() < examples) effect.add_example_responses(r.name());
      }
      if (changed) {
        Mix(hash, r.name());
        Mix(hash, r.etag());
        plan.changes.push_back({r.name(), std::move(themes)});
      }
      after = std::stoll(r.name().substr(r.name().rfind('/') + 1));
    }
    if (!page.more || page.responses.empty()) break;
  }
  plan.token = absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
  return plan;
}

absl::Status ThemeCoder::Preview(const v1::PreviewThemeCodingRequest& request,
                                 v1::ThemeCodingPreview* out) {
  if (request.examples_per_theme() < 0 || request.examples_per_theme() > 50) {
    return runtime::InvalidArgument("examples_per_theme", "must be 0 to 50");
  }
  ASSIGN_OR_RETURN(Plan plan,
                   Compute(request.parent(), request.rules(),
                           request.examples_per_theme() == 0 ? 5 : request.examples_per_theme()));
  for (v1::ThemeCodingEffect& e : plan.effects) *out->add_effects() = std::move(e);
  out->set_responses_examined(plan.examined);
  out->set_responses_to_change(static_cast<int64_t>(plan.changes.size()));
  out->set_preview_token(plan.token);
  return absl::OkStatus();
}

absl::Status ThemeCoder::Apply(const runtime::Caller& caller,
                               const v1::ApplyThemeCodingRequest& request, v1::ThemeCoding* out) {
  if (request.preview_token().empty()) {
    return runtime::InvalidArgument("preview_token", "preview the rules first");
  }
  ASSIGN_OR_RETURN(Plan plan, Compute(request.parent(), request.rules(), 0));
  if (plan.token != request.preview_token()) {
    return runtime::FailedPrecondition(
        "PREVIEW_STALE", request.parent(),
        "the rules or the responses changed since the preview; preview again");
  }
  for (const Change& change : plan.changes) {
    v1::UpdateResponseRequest update;
    update.mutable_response()->set_name(change.response);
    for (const std::string& t : change.themes) update.mutable_response()->add_themes(t);
    update.mutable_update_mask()->add_paths("themes");
    v1::Response updated;
    RETURN_IF_ERROR(engagement_.responses().UpdateResponse(caller, update, &updated));
  }
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  v1::ThemeCoding coding;
  *coding.mutable_rules() = request.rules();
  for (v1::ThemeCodingEffect& e : plan.effects) {
    e.clear_example_responses();
    *coding.add_effects() = std::move(e);
  }
  coding.set_responses_changed(static_cast<int64_t>(plan.changes.size()));
  coding.set_coded_by(caller.principal);
  SetTimestamp(coding.mutable_apply_time(), ToMicros(engagement_.Now()));
  RETURN_IF_ERROR(engagement_.store().Write([&](Transaction& tx) -> absl::Status {
    return AppendThemeCoding(tx, activity, coding).status();
  }));
  *out = std::move(coding);
  return absl::OkStatus();
}

absl::Status ThemeCoder::List(const v1::ListThemeCodingsRequest& request,
                              v1::ListThemeCodingsResponse* out) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  RETURN_IF_ERROR(engagement_.CheckActivityExists(activity));
  if (request.page_size() < 0 || request.page_size() > 1000) {
    return runtime::InvalidArgument("page_size", "must be 0 to 1000");
  }
  const int limit = request.page_size() == 0 ? 100 : request.page_size();
  int64_t after = 0;
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &after) || after < 0)) {
    return runtime::InvalidArgument("page_token", "is not a token this list returned");
  }
  return engagement_.store().Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<v1::ThemeCoding> codings,
                     ThemeCodingsAfter(tx, activity, after, limit + 1));
    const bool more = static_cast<int>(codings.size()) > limit;
    if (more) codings.resize(limit);
    for (v1::ThemeCoding& c : codings) *out->add_theme_codings() = std::move(c);
    if (more) {
      const std::string& last = out->theme_codings(limit - 1).name();
      out->set_next_page_token(last.substr(last.rfind('/') + 1));
    }
    return absl::OkStatus();
  });
}

}  // namespace dorset::engagement
