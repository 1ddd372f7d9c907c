#include "services/engagement/storage/response_rows.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"

namespace dorset::engagement {

using runtime::storage::Statement;
using runtime::storage::Transaction;

namespace {

constexpr char kResponseColumns[] =
    "id, activity_id, stakeholder_id, text, channel, locality, practice, themes, sentiment, "
    "publish_consent, anonymised, create_time, update_time, version, theme_assignments";

v1::Response ResponseFromRow(const Statement& s) {
  v1::Response r;
  const std::string activity = s.Text(1);
  r.set_name(ResponseName(activity, s.Int(0)));
  if (!s.IsNull(2)) r.set_stakeholder(StakeholderName(s.Text(2)));
  r.set_text(s.Text(3));
  r.set_channel(static_cast<v1::Channel>(s.Int(4)));
  r.set_locality(s.Text(5));
  r.set_practice(s.Text(6));
  for (const std::string& t : SplitList(s.Text(7))) r.add_themes(ThemeName(activity, t));
  r.set_sentiment(static_cast<v1::Sentiment>(s.Int(8)));
  r.set_publish_consent(s.Int(9) != 0);
  r.set_anonymised(s.Int(10) != 0);
  SetTimestamp(r.mutable_create_time(), s.Int(11));
  SetTimestamp(r.mutable_update_time(), s.Int(12));
  r.set_etag(Etag(s.Int(13)));
  DecodeThemeAssignments(activity, s.Text(14), r.mutable_theme_assignments());
  return r;
}

}  // namespace

absl::StatusOr<v1::Response> LoadResponse(Transaction& tx, const std::string& activity,
                                          int64_t id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare(absl::StrCat("SELECT ", kResponseColumns,
                                           " FROM response WHERE id = ? AND activity_id = ?")));
  stmt.Bind(1, id).Bind(2, activity);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound("Response", ResponseName(activity, id));
  return ResponseFromRow(stmt);
}

absl::StatusOr<bool> ResponseExists(Transaction& tx, const std::string& activity, int64_t id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT 1 FROM response WHERE id = ? AND activity_id = ?"));
  stmt.Bind(1, id).Bind(2, activity);
  return stmt.Step();
}

absl::Status ForResponsesAfter(Transaction& tx, const std::string& activity, int64_t after,
                               int limit, absl::FunctionRef<bool(v1::Response)> take) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare(absl::StrCat(
                       "SELECT ", kResponseColumns,
                       " FROM response WHERE activity_id = ? AND id > ? ORDER BY id LIMIT ?")));
  stmt.Bind(1, activity).Bind(2, after).Bind(3, limit);
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row || !take(ResponseFromRow(stmt))) return absl::OkStatus();
  }
}

absl::Status UpdateResponseRow(
    Transaction& tx, int64_t id, const std::vector<std::string>& theme_ids,
    const google::protobuf::RepeatedPtrField<v1::ThemeAssignment>& assignments,
    v1::Sentiment sentiment, int64_t now, int64_t version) {
  ASSIGN_OR_RETURN(Statement update,
                   tx.Prepare("UPDATE response SET themes = ?, theme_assignments = ?, "
                              "sentiment = ?, update_time = ?, version = ? WHERE id = ?"));
  update.Bind(1, JoinList(theme_ids))
      .Bind(2, EncodeThemeAssignments(assignments))
      .Bind(3, static_cast<int64_t>(sentiment))
      .Bind(4, now)
      .Bind(5, version)
      .Bind(6, id);
  return update.Run();
}

namespace {
int64_t TrailingNumber(const std::string& name) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(name.substr(name.rfind('/') + 1), &n)) return 0;
  return n;
}
}  // namespace

std::string EncodeThemeAssignments(
    const google::protobuf::RepeatedPtrField<v1::ThemeAssignment>& assignments) {
  std::string out;
  for (const v1::ThemeAssignment& a : assignments) {
    const std::string& theme = a.theme();
    const int64_t micros = a.assign_time().seconds() * 1000000 + a.assign_time().nanos() / 1000;
    absl::StrAppend(&out, out.empty() ? "" : "\n",
                    absl::string_view(theme).substr(theme.rfind('/') + 1), "\t",
                    static_cast<int>(a.method()), "\t", micros, "\t",
                    a.theme_coding().empty() ? 0 : TrailingNumber(a.theme_coding()), "\t",
                    a.rule_number(), "\t", absl::CEscape(a.assigned_by()));
  }
  return out;
}

void DecodeThemeAssignments(const std::string& activity, const std::string& encoded,
                            google::protobuf::RepeatedPtrField<v1::ThemeAssignment>* out) {
  if (encoded.empty()) return;
  for (absl::string_view line : absl::StrSplit(encoded, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    int method = 0;
    int64_t micros = 0, coding = 0;
    int rule = 0;
    std::string principal;
    if (f.size() != 6 || !absl::SimpleAtoi(f[1], &method) || !absl::SimpleAtoi(f[2], &micros) ||
        !absl::SimpleAtoi(f[3], &coding) || !absl::SimpleAtoi(f[4], &rule) ||
        !absl::CUnescape(f[5], &principal) || !v1::ThemeAssignmentMethod_IsValid(method)) {
      continue;
    }
    v1::ThemeAssignment* a = out->Add();
    a->set_theme(ThemeName(activity, std::string(f[0])));
    a->set_method(static_cast<v1::ThemeAssignmentMethod>(method));
    SetTimestamp(a->mutable_assign_time(), micros);
    if (coding > 0)
      a->set_theme_coding(absl::StrCat(ActivityName(activity), "/themeCodings/", coding));
    a->set_rule_number(rule);
    a->set_assigned_by(std::move(principal));
  }
}

}  // namespace dorset::engagement
