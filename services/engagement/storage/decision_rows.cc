#include "services/engagement/storage/decision_rows.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/delivery_rows.h"
#include "services/engagement/storage/rows_common.h"

namespace dorset::engagement {
namespace {

using runtime::storage::Statement;
using runtime::storage::Transaction;

constexpr char kColumns[] =
    "activity_id, id, summary, rationale, themes, responses, decided_by, decide_time, published, "
    "create_time, update_time, version";

v1::Decision FromRow(const Statement& s) {
  v1::Decision d;
  const std::string activity = s.Text(0);
  d.set_name(DecisionName(activity, s.Text(1)));
  d.set_summary(s.Text(2));
  d.set_rationale(s.Text(3));
  for (const std::string& t : SplitList(s.Text(4))) d.add_themes(ThemeName(activity, t));
  for (const std::string& r : SplitList(s.Text(5))) {
    d.add_responses(absl::StrCat(ActivityName(activity), "/responses/", r));
  }
  d.set_decided_by(s.Text(6));
  if (!s.IsNull(7)) SetTimestamp(d.mutable_decide_time(), s.Int(7));
  d.set_published(s.Int(8) != 0);
  SetTimestamp(d.mutable_create_time(), s.Int(9));
  SetTimestamp(d.mutable_update_time(), s.Int(10));
  d.set_etag(Etag(s.Int(11)));
  return d;
}

// The latest delivery change, or PLANNED at 0 % before the first.
absl::Status FillDelivery(Transaction& tx, const std::string& activity, const std::string& id,
                          v1::Decision& d) {
  ASSIGN_OR_RETURN(std::optional<v1::Delivery> delivery, LatestDelivery(tx, activity, id));
  if (delivery.has_value()) {
    *d.mutable_delivery() = *std::move(delivery);
  } else {
    d.mutable_delivery()->set_status(v1::DELIVERY_STATUS_PLANNED);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Decision> LoadDecision(Transaction& tx, const std::string& activity,
                                          const std::string& id) {
  ASSIGN_OR_RETURN(v1::Decision d,
                   LoadChildRow<v1::Decision>(tx, "decision", kColumns, activity, id, FromRow,
                                              "Decision", DecisionName(activity, id)));
  RETURN_IF_ERROR(FillDelivery(tx, activity, id, d));
  return d;
}

absl::Status SaveDecision(Transaction& tx, const std::string& activity, const std::string& id,
                          const v1::Decision& d, const std::vector<std::string>& theme_ids,
                          const std::vector<std::string>& response_ids, int64_t version,
                          bool insert) {
  const char* sql =
      insert ? "INSERT INTO decision (summary, rationale, themes, responses, decided_by, "
               "decide_time, published, create_time, update_time, version, activity_id, id) "
               "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
             : "UPDATE decision SET summary=?, rationale=?, themes=?, responses=?, decided_by=?, "
               "decide_time=?, published=?, create_time=?, update_time=?, version=? "
               "WHERE activity_id=? AND id=?";
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
  stmt.Bind(1, d.summary())
      .Bind(2, d.rationale())
      .Bind(3, JoinList(theme_ids))
      .Bind(4, JoinList(response_ids))
      .Bind(5, d.decided_by())
      .Bind(6, OptionalMicros(d.has_decide_time(), d.decide_time()))
      .Bind(7, static_cast<int64_t>(d.published()))
      .Bind(8, Micros(d.create_time()))
      .Bind(9, Micros(d.update_time()))
      .Bind(10, version)
      .Bind(11, activity)
      .Bind(12, id);
  return stmt.Run();
}

absl::Status ListDecisionRows(Transaction& tx, const runtime::storage::KeysetPage& page,
                              const std::string& activity,
                              google::protobuf::RepeatedPtrField<v1::Decision>& items,
                              std::string* next_page_token) {
  RETURN_IF_ERROR(
      ListChildRows(tx, "decision", kColumns, page, activity, FromRow, items, next_page_token));
  for (v1::Decision& d : items) {
    const std::string id = d.name().substr(d.name().rfind('/') + 1);
    RETURN_IF_ERROR(FillDelivery(tx, activity, id, d));
  }
  return absl::OkStatus();
}

absl::Status DeleteDecisionRow(Transaction& tx, const std::string& activity,
                               const std::string& id) {
  RETURN_IF_ERROR(DeleteDeliveryChanges(tx, activity, id));
  return DeleteChildRow(tx, "decision", activity, id);
}

absl::StatusOr<std::vector<std::string>> PublishedDecisionIds(Transaction& tx,
                                                              const std::string& activity,
                                                              int limit) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT id FROM decision WHERE activity_id = ? AND published = 1 "
                              "ORDER BY id LIMIT ?"));
  stmt.Bind(1, activity).Bind(2, limit);
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return ids;
    ids.push_back(stmt.Text(0));
  }
}

}  // namespace dorset::engagement
