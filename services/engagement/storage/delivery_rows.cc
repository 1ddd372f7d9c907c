#include "services/engagement/storage/delivery_rows.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/names.h"

namespace dorset::engagement {

using runtime::storage::Statement;
using runtime::storage::Transaction;

namespace {

absl::StatusOr<v1::Delivery> Parse(const std::string& json) {
  v1::Delivery delivery;
  if (!google::protobuf::util::JsonStringToMessage(json, &delivery).ok()) {
    return absl::DataLossError("a stored delivery is not readable");
  }
  return delivery;
}

}  // namespace

absl::StatusOr<int64_t> AppendDeliveryChange(Transaction& tx, const std::string& activity,
                                             const std::string& decision,
                                             const v1::Delivery& delivery,
                                             const std::string& note) {
  ASSIGN_OR_RETURN(Statement last, tx.Prepare("SELECT COALESCE(MAX(seq), 0) FROM delivery_change "
                                              "WHERE activity_id = ? AND decision_id = ?"));
  last.Bind(1, activity).Bind(2, decision);
  ASSIGN_OR_RETURN(bool row, last.Step());
  const int64_t seq = (row ? last.Int(0) : 0) + 1;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(delivery, &json).ok()) {
    return absl::InternalError("delivery not encodable");
  }
  ASSIGN_OR_RETURN(Statement insert,
                   tx.Prepare("INSERT INTO delivery_change (activity_id, decision_id, seq, "
                              "delivery, note) VALUES (?,?,?,?,?)"));
  insert.Bind(1, activity).Bind(2, decision).Bind(3, seq).Bind(4, json).Bind(5, note);
  RETURN_IF_ERROR(insert.Run());
  return seq;
}

absl::StatusOr<std::optional<v1::Delivery>> LatestDelivery(Transaction& tx,
                                                           const std::string& activity,
                                                           const std::string& decision) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT delivery FROM delivery_change WHERE activity_id = ? AND "
                              "decision_id = ? ORDER BY seq DESC LIMIT 1"));
  stmt.Bind(1, activity).Bind(2, decision);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<v1::Delivery>();
  ASSIGN_OR_RETURN(v1::Delivery delivery, Parse(stmt.Text(0)));
  return std::optional<v1::Delivery>(std::move(delivery));
}

absl::StatusOr<std::vector<v1::DeliveryChange>> DeliveryChangesAfter(Transaction& tx,
                                                                     const std::string& activity,
                                                                     const std::string& decision,
                                                                     int64_t after, int limit) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT seq, delivery, note FROM delivery_change WHERE "
                              "activity_id = ? AND decision_id = ? AND seq > ? ORDER BY seq "
                              "LIMIT ?"));
  stmt.Bind(1, activity).Bind(2, decision).Bind(3, after).Bind(4, static_cast<int64_t>(limit));
  std::vector<v1::DeliveryChange> changes;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return changes;
    v1::DeliveryChange change;
    change.set_name(
        absl::StrCat(DecisionName(activity, decision), "/deliveryChanges/", stmt.Int(0)));
    ASSIGN_OR_RETURN(*change.mutable_delivery(), Parse(stmt.Text(1)));
    change.set_note(stmt.Text(2));
    changes.push_back(std::move(change));
  }
}

absl::Status DeleteDeliveryChanges(Transaction& tx, const std::string& activity,
                                   const std::string& decision) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      tx.Prepare(decision.empty() ? "DELETE FROM delivery_change WHERE activity_id = ?"
                                  : "DELETE FROM delivery_change WHERE activity_id = ? AND "
                                    "decision_id = ?"));
  stmt.Bind(1, activity);
  if (!decision.empty()) stmt.Bind(2, decision);
  return stmt.Run();
}

}  // namespace dorset::engagement
