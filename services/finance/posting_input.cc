#include "services/finance/posting_input.h"

#include <charconv>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/request_id.h"
#include "runtime/auth/token_store.h"
#include "runtime/base/string_view.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/finance/calendar.h"
#include "services/finance/limits.h"
#include "services/finance/money/money.h"

namespace dorset::finance {
namespace {

constexpr size_t kMaxReason = 500;

// The canonical content's pieces, appended without temporaries (issue 16: StrAppend and a fresh
// string per call cost about as much as the hash itself). The bytes are those of the format
// stored in every request record: they must never change.
void AppendNumber(std::string& out, int64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
  out.append(digits, end).append(1, ';');
}
// Appends a length-prefixed field so no two different contents share a canonical form.
void AppendField(std::string& out, std::string_view value) {
  char length[24];
  const auto end = std::to_chars(length, length + sizeof(length), value.size()).ptr;
  out.append(length, end).append(1, ':').append(value).append(1, ';');
}

absl::StatusOr<PostingInput> ParseOne(const v1::Posting& in, std::string field) {
  PostingInput out;
  out.field = field;
  const auto path = [&](std::string_view leaf) { return absl::StrCat(field, ".", ToAbsl(leaf)); };
  if (in.reason().size() > kMaxReason) {
    return runtime::InvalidArgument(path("reason"), "longer than 500 bytes");
  }
  out.reason = in.reason();
  if (!in.name().empty() || !in.principal().empty() || in.has_create_time() ||
      !in.reversed_by().empty() || !in.request_id().empty()) {
    return runtime::InvalidArgument(field,
                                    "name, principal, create_time, request_id and "
                                    "reversed_by are output only");
  }
  if (!in.reverses().empty()) {
    ASSIGN_OR_RETURN(out.reverses, ParsePostingName(in.reverses(), path("reverses")));
    if (!in.scheme().empty() || !in.financial_year().empty() || in.month() != 0 ||
        in.kind() != v1::POSTING_KIND_UNSPECIFIED || in.has_amount() ||
        !in.amount_decimal().empty()) {
      return runtime::InvalidArgument(
          path("reverses"),
          "a reversal takes scheme, year, month, kind and amount from the "
          "posting it reverses: leave them empty");
    }
    if (out.reason.empty())
      return runtime::InvalidArgument(path("reason"), "a reversal needs a reason");
    return out;
  }
  if (in.scheme().empty()) return runtime::InvalidArgument(path("scheme"), "required");
  out.scheme = in.scheme();
  // The checks below name their field only when they fail: a field path is a string built per
  // call, and a posting that passes (the usual case) needs none (issue 16).
  absl::StatusOr<int> year = ParseFinancialYear(in.financial_year(), "");
  if (!year.ok()) return ParseFinancialYear(in.financial_year(), path("financial_year")).status();
  out.year = *year;
  if (!CheckMonth(in.month(), "").ok()) return CheckMonth(in.month(), path("month"));
  out.month = in.month();
  if (in.kind() != v1::POSTING_KIND_PLAN && in.kind() != v1::POSTING_KIND_ACTUAL &&
      in.kind() != v1::POSTING_KIND_FORECAST) {
    return runtime::InvalidArgument(path("kind"), "PLAN, ACTUAL or FORECAST");
  }
  out.kind = in.kind();
  if (in.has_amount() == !in.amount_decimal().empty()) {
    return runtime::InvalidArgument(path("amount"),
                                    "give exactly one of amount and amount_decimal");
  }
  const auto amount_field = [&] { return path(in.has_amount() ? "amount" : "amount_decimal"); };
  if (in.has_amount()) {
    out.amount = in.amount().pence();
  } else {
    absl::StatusOr<int64_t> parsed = money::ParsePounds(in.amount_decimal());
    if (!parsed.ok()) {
      const std::string_view why = ToStd(parsed.status().message());
      return parsed.status().code() == absl::StatusCode::kOutOfRange
                 ? AmountLimitExceeded(amount_field(), why)
                 : runtime::InvalidArgument(amount_field(), why);
    }
    out.amount = *parsed;
    out.amount_from_decimal = true;
  }
  // The per-posting bound (limits.h); the ledger also bounds the running monthly total.
  if (!CheckAmountBound(out.amount, kMaxPostingPence, "", "a posting").ok()) {
    return CheckAmountBound(out.amount, kMaxPostingPence, amount_field(), "a posting");
  }
  return out;
}

}  // namespace

absl::StatusOr<int64_t> ParsePostingName(const std::string& name, std::string_view field) {
  constexpr std::string_view kPrefix = "postings/";
  int64_t id = 0;
  if (name.rfind(kPrefix, 0) != 0 ||
      !absl::SimpleAtoi(ToAbsl(std::string_view(name).substr(kPrefix.size())), &id) || id <= 0) {
    return runtime::InvalidArgument(field, "a posting name is postings/{number}");
  }
  return id;
}

absl::StatusOr<PostingBatch> ParsePostings(const std::string& request_id,
                                           const std::string& principal,
                                           std::span<const v1::Posting* const> postings,
                                           bool single) {
  // The count first, before anything reads the postings (runtime/api/repeated_limits.h).
  if (postings.size() > static_cast<size_t>(kMaxBatchPostings)) {
    return runtime::InvalidArgument("postings", "at most 1000 postings in one batch");
  }
  if (request_id.empty()) {
    return runtime::InvalidArgument("request_id", "required: it makes the posting happen once");
  }
  RETURN_IF_ERROR(runtime::CheckRequestId(request_id));
  if (postings.empty())
    return runtime::InvalidArgument(single ? "posting" : "postings", "required");
  PostingBatch batch;
  batch.request_id = request_id;
  batch.principal = principal;
  thread_local std::string canonical;
  canonical.assign("finance.posting.v1;");
  AppendField(canonical, principal);
  AppendNumber(canonical, static_cast<int64_t>(postings.size()));
  for (size_t i = 0; i < postings.size(); ++i) {
    ASSIGN_OR_RETURN(
        PostingInput input,
        ParseOne(*postings[i], single ? "posting" : absl::StrCat("postings[", i, "]")));
    AppendField(canonical, input.scheme);
    AppendNumber(canonical, input.year);
    AppendNumber(canonical, input.month);
    AppendNumber(canonical, input.kind);
    AppendNumber(canonical, input.amount);
    AppendNumber(canonical, input.reverses.value_or(0));
    AppendField(canonical, input.reason);
    batch.postings.push_back(std::move(input));
  }
  batch.content_hash = runtime::Sha256Hex(canonical);
  return batch;
}

}  // namespace dorset::finance
