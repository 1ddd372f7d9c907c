// Bulk theme coding (theme_coding.h).
#include "services/engagement/domain/theme_coding.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/request_id.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/counters.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/activity_rows.h"
#include "services/engagement/storage/counter_rows.h"
#include "services/engagement/storage/requests.h"
#include "services/engagement/storage/response_rows.h"
#include "services/engagement/storage/theme_coding_rows.h"
#include "services/engagement/storage/theme_rows.h"

namespace dorset::engagement {
namespace {

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

// Theme names (activities/{a}/themes/{t}) to their ids, as the response row stores them.
template <typename Names>
std::vector<std::string> IdsOf(const Names& names) {
  std::vector<std::string> ids;
  for (const std::string& name : names) ids.push_back(name.substr(name.rfind('/') + 1));
  return ids;
}

int64_t VersionOf(const std::string& etag) {
  int64_t version = 0;
  for (char c : etag) {
    if (c >= '0' && c <= '9') version = version * 10 + (c - '0');
  }
  return version;
}

// The method a request_id of ApplyThemeCoding is recorded under (runtime/storage/idempotency.h).
constexpr char kApplyMethod[] = "ApplyThemeCoding";

using Rules = google::protobuf::RepeatedPtrField<v1::ThemeRule>;
using Keywords = std::vector<std::vector<std::string>>;

// One response that would gain themes: the response as read (without its text), its whole new
// theme list (names) and what it gains by which rule.
struct Change {
  v1::Response before;
  std::vector<std::string> themes;
  // The themes it gains, each with the number (from 1) of the rule that gives it.
  std::vector<std::pair<std::string, int>> added;
};
struct Plan {
  std::vector<v1::ThemeCodingEffect> effects;
  std::vector<Change> changes;
  int64_t examined = 0;
  std::string token;
};

// The rules' form (no store access): each rule's keywords, lowered.
absl::StatusOr<Keywords> CheckRules(const std::string& activity, const Rules& rules) {
  if (rules.empty()) return runtime::InvalidArgument("rules", "at least one rule is required");
  if (rules.size() > 100) return runtime::InvalidArgument("rules", "at most 100");
  Keywords keywords(rules.size());
  for (int i = 0; i < rules.size(); ++i) {
    const std::string field = absl::StrCat("rules[", i, "]");
    ASSIGN_OR_RETURN(ChildName theme, ParseThemeName(rules[i].theme(), field + ".theme"));
    if (theme.activity != activity) {
      return runtime::InvalidArgument(field + ".theme", "must be a theme of the same activity");
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
  return keywords;
}

// What the rules do to the activity's responses as `tx` sees them.
absl::StatusOr<Plan> Compute(StoreTx& tx, const std::string& activity, const Rules& rules,
                             const Keywords& keywords, int examples) {
  RETURN_IF_ERROR(LoadActivity(tx, activity).status());  // NOT_FOUND
  for (int i = 0; i < rules.size(); ++i) {
    const std::string& name = rules[i].theme();
    ASSIGN_OR_RETURN(bool found, ThemeExists(tx, activity, name.substr(name.rfind('/') + 1)));
    if (!found) {
      return runtime::InvalidArgument(absl::StrCat("rules[", i, "].theme"), "no such theme");
    }
  }
  Plan plan;
  plan.effects.resize(rules.size());
  for (int i = 0; i < rules.size(); ++i) plan.effects[i].set_theme(rules[i].theme());
  uint64_t hash = 14695981039346656037ULL;
  for (const v1::ThemeRule& rule : rules) Mix(hash, rule.SerializeAsString());
  // The coder reads every response's text (unredacted, inside the service); nothing of the text
  // is returned, only response names and counts. Paged, so memory holds a page of texts.
  constexpr int kPage = 1000;
  int64_t after = 0;
  while (true) {
    int seen = 0;
    RETURN_IF_ERROR(ForResponsesAfter(tx, activity, after, kPage, [&](v1::Response r) {
      ++seen;
      ++plan.examined;
      after = std::stoll(r.name().substr(r.name().rfind('/') + 1));
      const std::string text = absl::AsciiStrToLower(r.text());
      std::vector<std::string> themes(r.themes().begin(), r.themes().end());
      std::vector<std::pair<std::string, int>> added;
      bool changed = false;
      for (int i = 0; i < rules.size(); ++i) {
        const bool match = std::any_of(keywords[i].begin(), keywords[i].end(),
                                       [&](const std::string& k) { return ContainsWord(text, k); });
        if (!match) continue;
        v1::ThemeCodingEffect& effect = plan.effects[i];
        effect.set_matched(effect.matched() + 1);
        if (std::find(themes.begin(), themes.end(), rules[i].theme()) != themes.end()) continue;
        themes.push_back(rules[i].theme());
        added.emplace_back(rules[i].theme(), i + 1);
        changed = true;
        effect.set_to_add(effect.to_add() + 1);
        if (effect.example_responses_size() < examples) effect.add_example_responses(r.name());
      }
      if (changed) {
        Mix(hash, r.name());
        Mix(hash, r.etag());
        r.clear_text();
        plan.changes.push_back({std::move(r), std::move(themes), std::move(added)});
      }
      return true;
    }));
    if (seen < kPage) break;
  }
  plan.token = absl::StrCat(absl::Hex(hash, absl::kZeroPad16));
  return plan;
}

// Writes the plan's changes with their counters, inside `tx`; each theme added is recorded on its
// response as `coding`'s (who coded what: its rule, the coder, the time).
absl::Status WriteChanges(StoreTx& tx, const std::string& activity, const Plan& plan,
                          const v1::ThemeCoding& coding) {
  const int64_t now = coding.apply_time().seconds() * 1000000 + coding.apply_time().nanos() / 1000;
  CounterSums sums;
  for (const Change& change : plan.changes) {
    const v1::Response& r = change.before;
    ASSIGN_OR_RETURN(ResponseId id, ParseResponseName(r.name(), "response"));
    const std::vector<std::string> old_ids = IdsOf(r.themes());
    const std::vector<std::string> new_ids = IdsOf(change.themes);
    google::protobuf::RepeatedPtrField<v1::ThemeAssignment> assignments = r.theme_assignments();
    for (const auto& [theme, rule_number] : change.added) {
      v1::ThemeAssignment* a = assignments.Add();
      a->set_theme(theme);
      a->set_method(v1::THEME_ASSIGNMENT_METHOD_CODING_RULE);
      a->set_assigned_by(coding.coded_by());
      *a->mutable_assign_time() = coding.apply_time();
      a->set_theme_coding(coding.name());
      a->set_rule_number(rule_number);
    }
    RETURN_IF_ERROR(UpdateResponseRow(tx, id.id, new_ids, assignments, r.sentiment(), now,
                                      VersionOf(r.etag()) + 1));
    AddCells(sums, activity, CounterCells(r.channel(), r.sentiment(), r.locality(), old_ids), -1);
    AddCells(sums, activity, CounterCells(r.channel(), r.sentiment(), r.locality(), new_ids), 1);
  }
  // Each cell once for the whole coding, not once per response.
  return AddCounterSums(tx, sums);
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

absl::Status ThemeCoder::Preview(const v1::PreviewThemeCodingRequest& request,
                                 v1::ThemeCodingPreview* out) {
  if (request.examples_per_theme() < 0 || request.examples_per_theme() > 50) {
    return runtime::InvalidArgument("examples_per_theme", "must be 0 to 50");
  }
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  ASSIGN_OR_RETURN(Keywords keywords, CheckRules(activity, request.rules()));
  const int examples = request.examples_per_theme() == 0 ? 5 : request.examples_per_theme();
  // One snapshot: the counts and the token describe one state of the responses.
  ASSIGN_OR_RETURN(Plan plan, engagement_.store().Read([&](StoreTx& tx) {
    return Compute(tx, activity, request.rules(), keywords, examples);
  }));
  for (v1::ThemeCodingEffect& e : plan.effects) *out->add_effects() = std::move(e);
  out->set_responses_examined(plan.examined);
  out->set_responses_to_change(static_cast<int64_t>(plan.changes.size()));
  out->set_preview_token(plan.token);
  return absl::OkStatus();
}

absl::Status ThemeCoder::Apply(const runtime::Caller& caller,
                               const v1::ApplyThemeCodingRequest& request, v1::ThemeCoding* out) {
  ASSIGN_OR_RETURN(std::string activity, ParseActivityName(request.parent(), "parent"));
  if (request.preview_token().empty()) {
    return runtime::InvalidArgument("preview_token", "preview the rules first");
  }
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  ASSIGN_OR_RETURN(Keywords keywords, CheckRules(activity, request.rules()));
  const int64_t now = ToMicros(engagement_.Now());
  // One transaction: the check against the preview and every write see the same responses, and
  // a failure anywhere (or a serialization failure run out of retries) leaves nothing.
  return engagement_.store().Write([&](StoreTx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        std::optional<std::string> previous,
        FindRequest(tx, kApplyMethod, caller.principal, request.request_id(), request));
    if (previous.has_value()) {
      // A retry of an applied coding: its record, not a second coding (or PREVIEW_STALE).
      const int64_t seq = std::stoll(previous->substr(previous->rfind('/') + 1));
      ASSIGN_OR_RETURN(std::vector<v1::ThemeCoding> codings,
                       ThemeCodingsAfter(tx, activity, seq - 1, 1));
      if (codings.empty()) return absl::DataLossError("the recorded theme coding is missing");
      *out = std::move(codings[0]);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Plan plan, Compute(tx, activity, request.rules(), keywords, 0));
    if (plan.token != request.preview_token()) {
      return runtime::FailedPrecondition(
          "PREVIEW_STALE", request.parent(),
          "the rules or the responses changed since the preview; preview again");
    }
    ASSIGN_OR_RETURN(v1::Activity state, LoadActivity(tx, activity));
    if (!plan.changes.empty() && state.state() == v1::ACTIVITY_STATE_OUTCOME_PUBLISHED) {
      return runtime::FailedPrecondition("STATE", state.name(),
                                         "the outcome is published; responses are read-only");
    }
    v1::ThemeCoding coding;
    *coding.mutable_rules() = request.rules();
    for (v1::ThemeCodingEffect& e : plan.effects) {
      e.clear_example_responses();
      *coding.add_effects() = std::move(e);
    }
    coding.set_responses_changed(static_cast<int64_t>(plan.changes.size()));
    coding.set_coded_by(caller.principal);
    SetTimestamp(coding.mutable_apply_time(), now);
    // Recorded first, so each response's assignments can name it (one transaction either way).
    RETURN_IF_ERROR(AppendThemeCoding(tx, activity, coding).status());
    RETURN_IF_ERROR(WriteChanges(tx, activity, plan, coding));
    RETURN_IF_ERROR(RecordRequest(tx, kApplyMethod, caller.principal, request.request_id(), request,
                                  coding.name(), now));
    *out = std::move(coding);
    return absl::OkStatus();
  });
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
  return engagement_.store().Read([&](StoreTx& tx) -> absl::Status {
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
