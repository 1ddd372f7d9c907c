#include "services/engagement/storage/stakeholder_rows.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/response_rows.h"
#include "services/engagement/storage/rows_common.h"

namespace dorset::engagement {
namespace {

using runtime::storage::Statement;
using runtime::storage::Transaction;

constexpr char kColumns[] =
    "id, kind, display_name, organisation, email, phone, postal_address, contact_consent, "
    "contact_consent_time, publish_consent, publish_consent_time, locality, erased, erase_time, "
    "create_time, update_time, version";

v1::Stakeholder FromRow(const Statement& s) {
  v1::Stakeholder out;
  out.set_name(StakeholderName(s.Text(0)));
  out.set_kind(static_cast<v1::StakeholderKind>(s.Int(1)));
  out.set_display_name(s.Text(2));
  out.set_organisation(s.Text(3));
  out.mutable_contact()->set_email(s.Text(4));
  out.mutable_contact()->set_phone(s.Text(5));
  out.mutable_contact()->set_postal_address(s.Text(6));
  out.mutable_contact_consent()->set_granted(s.Int(7) != 0);
  SetTimestamp(out.mutable_contact_consent()->mutable_record_time(), s.OptionalInt(8));
  out.mutable_publish_consent()->set_granted(s.Int(9) != 0);
  SetTimestamp(out.mutable_publish_consent()->mutable_record_time(), s.OptionalInt(10));
  out.set_locality(s.Text(11));
  out.set_erased(s.Int(12) != 0);
  SetTimestamp(out.mutable_erase_time(), s.OptionalInt(13));
  SetTimestamp(out.mutable_create_time(), s.Int(14));
  SetTimestamp(out.mutable_update_time(), s.Int(15));
  out.set_etag(Etag(s.Int(16)));
  if (s.IsNull(8)) out.mutable_contact_consent()->clear_record_time();
  if (s.IsNull(10)) out.mutable_publish_consent()->clear_record_time();
  if (s.IsNull(13)) out.clear_erase_time();
  return out;
}

}  // namespace

absl::StatusOr<v1::Stakeholder> LoadStakeholderRow(Transaction& tx, const std::string& id) {
  return LoadRow<v1::Stakeholder>(tx, "stakeholder", kColumns, id, FromRow, "Stakeholder",
                                  StakeholderName(id));
}

absl::Status SaveStakeholderRow(Transaction& tx, const std::string& id, const v1::Stakeholder& s,
                                int64_t version, bool insert) {
  const char* sql =
      insert ? "INSERT INTO stakeholder (kind, display_name, organisation, email, phone, "
               "postal_address, contact_consent, contact_consent_time, publish_consent, "
               "publish_consent_time, locality, erased, erase_time, create_time, update_time, "
               "version, id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
             : "UPDATE stakeholder SET kind=?, display_name=?, organisation=?, email=?, phone=?, "
               "postal_address=?, contact_consent=?, contact_consent_time=?, publish_consent=?, "
               "publish_consent_time=?, locality=?, erased=?, erase_time=?, create_time=?, "
               "update_time=?, version=? WHERE id=?";
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
  stmt.Bind(1, static_cast<int64_t>(s.kind()))
      .Bind(2, s.display_name())
      .Bind(3, s.organisation())
      .Bind(4, s.contact().email())
      .Bind(5, s.contact().phone())
      .Bind(6, s.contact().postal_address())
      .Bind(7, static_cast<int64_t>(s.contact_consent().granted()))
      .Bind(8, OptionalMicros(s.contact_consent().has_record_time(),
                              s.contact_consent().record_time()))
      .Bind(9, static_cast<int64_t>(s.publish_consent().granted()))
      .Bind(10, OptionalMicros(s.publish_consent().has_record_time(),
                               s.publish_consent().record_time()))
      .Bind(11, s.locality())
      .Bind(12, static_cast<int64_t>(s.erased()))
      .Bind(13, OptionalMicros(s.has_erase_time(), s.erase_time()))
      .Bind(14, Micros(s.create_time()))
      .Bind(15, Micros(s.update_time()))
      .Bind(16, version)
      .Bind(17, id);
  return stmt.Run();
}

absl::Status ListStakeholderRows(Transaction& tx, const runtime::storage::KeysetPage& page,
                                 v1::StakeholderKind kind,
                                 google::protobuf::RepeatedPtrField<v1::Stakeholder>& items,
                                 std::string* next_page_token) {
  ASSIGN_OR_RETURN(
      Statement stmt,
      tx.Prepare(absl::StrCat(
          "SELECT ", kColumns,
          " FROM stakeholder WHERE id > ? AND (? = 0 OR kind = ?) ORDER BY id LIMIT ?")));
  stmt.Bind(1, page.after())
      .Bind(2, static_cast<int64_t>(kind))
      .Bind(3, static_cast<int64_t>(kind))
      .Bind(4, page.fetch_limit());
  return page.Collect(
      stmt, FromRow, [](const Statement& row) { return row.Text(0); }, items, next_page_token);
}

absl::StatusOr<int64_t> EraseStakeholderRows(Transaction& tx, const std::string& id, int64_t now) {
  // Overwrite, not flag: the values are gone from the row (and secure_delete zeroes the
  // freed space). Organisation and kind are not personal data and stay for the record.
  ASSIGN_OR_RETURN(Statement erase,
                   tx.Prepare("UPDATE stakeholder SET display_name = '', email = '', "
                              "phone = '', postal_address = '', locality = '', "
                              "contact_consent = 0, publish_consent = 0, erased = 1, "
                              "erase_time = ?, update_time = ?, version = version + 1 "
                              "WHERE id = ?"));
  erase.Bind(1, now).Bind(2, now).Bind(3, id);
  RETURN_IF_ERROR(erase.Run());
  // Who submitted their responses (the principal on the themes given with them) may be the
  // stakeholder too: it goes with the link. The coders' records stay.
  ASSIGN_OR_RETURN(Statement submitted,
                   tx.Prepare("SELECT id, activity_id, theme_assignments FROM response "
                              "WHERE stakeholder_id = ? AND theme_assignments <> ''"));
  submitted.Bind(1, id);
  std::vector<std::pair<int64_t, std::string>> rewritten;
  while (true) {
    ASSIGN_OR_RETURN(bool row, submitted.Step());
    if (!row) break;
    google::protobuf::RepeatedPtrField<v1::ThemeAssignment> assignments;
    DecodeThemeAssignments(submitted.Text(1), submitted.Text(2), &assignments);
    for (v1::ThemeAssignment& a : assignments) {
      if (a.method() == v1::THEME_ASSIGNMENT_METHOD_ON_CREATION) a.clear_assigned_by();
    }
    rewritten.emplace_back(submitted.Int(0), EncodeThemeAssignments(assignments));
  }
  for (const auto& [response, encoded] : rewritten) {
    ASSIGN_OR_RETURN(Statement update,
                     tx.Prepare("UPDATE response SET theme_assignments = ? WHERE id = ?"));
    update.Bind(1, encoded).Bind(2, response);
    RETURN_IF_ERROR(update.Run());
  }
  // Their responses stay, unlinked and without free text (which may identify them); themes,
  // sentiment, channel and locality stay, so the counters need no change.
  ASSIGN_OR_RETURN(Statement anon,
                   tx.Prepare("UPDATE response SET stakeholder_id = NULL, text = '', "
                              "anonymised = 1, update_time = ?, version = version + 1 "
                              "WHERE stakeholder_id = ?"));
  anon.Bind(1, now).Bind(2, id);
  RETURN_IF_ERROR(anon.Run());
  return anon.Changes();
}

}  // namespace dorset::engagement
