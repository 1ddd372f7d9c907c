// Stakeholders: create/get/list/update, consents stamped with their time, and erasure.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/enum_names.h"
#include "runtime/api/request_id.h"
#include "runtime/auth/permissions.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/keyset_page.h"
#include "services/engagement/engagement.h"
#include "services/engagement/names.h"
#include "services/engagement/rows.h"
#include "services/engagement/storage/requests.h"

namespace dorset::engagement {
namespace {

using runtime::storage::KeysetPage;
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

int64_t VersionOf(const v1::Stakeholder& s) {
  // Etag is W/"<version>".
  int64_t version = 0;
  for (char c : s.etag()) {
    if (c >= '0' && c <= '9') version = version * 10 + (c - '0');
  }
  return version;
}

std::optional<int64_t> OptionalMicros(const google::protobuf::Timestamp& ts, bool has) {
  if (!has) return std::nullopt;
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

absl::Status ValidateContact(const v1::ContactDetails& contact) {
  std::vector<runtime::FieldViolation> violations;
  const std::string& email = contact.email();
  if (!email.empty()) {
    const size_t at = email.find('@');
    if (email.size() > 254 || at == std::string::npos || at == 0 || at + 1 >= email.size() ||
        email.find_first_of(" \t\r\n,;<>") != std::string::npos) {
      violations.push_back({"stakeholder.contact.email", "not an email address"});
    }
  }
  const std::string& phone = contact.phone();
  if (!phone.empty()) {
    int digits = 0;
    bool ok = phone.size() <= 32;
    for (char c : phone) {
      if (c >= '0' && c <= '9') {
        ++digits;
      } else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')') {
        ok = false;
      }
    }
    if (!ok || digits < 6)
      violations.push_back({"stakeholder.contact.phone", "not a phone number"});
  }
  if (contact.postal_address().size() > 1000) {
    violations.push_back({"stakeholder.contact.postal_address", "at most 1000 bytes"});
  }
  if (!violations.empty()) return runtime::InvalidArguments(std::move(violations));
  return absl::OkStatus();
}

absl::Status ValidateStakeholder(const v1::Stakeholder& s) {
  if (!v1::StakeholderKind_IsValid(s.kind()) || s.kind() == v1::STAKEHOLDER_KIND_UNSPECIFIED) {
    return runtime::InvalidArgument("stakeholder.kind", "required");
  }
  if (s.display_name().empty() && s.organisation().empty()) {
    return runtime::InvalidArgument("stakeholder.display_name",
                                    "a display name or an organisation is required");
  }
  RETURN_IF_ERROR(CheckText(s.display_name(), 200, "stakeholder.display_name"));
  RETURN_IF_ERROR(CheckText(s.organisation(), 200, "stakeholder.organisation"));
  return ValidateContact(s.contact());
}

absl::Status Save(Transaction& tx, const std::string& id, const v1::Stakeholder& s, int64_t version,
                  bool insert) {
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
      .Bind(8, OptionalMicros(s.contact_consent().record_time(),
                              s.contact_consent().has_record_time()))
      .Bind(9, static_cast<int64_t>(s.publish_consent().granted()))
      .Bind(10, OptionalMicros(s.publish_consent().record_time(),
                               s.publish_consent().has_record_time()))
      .Bind(11, s.locality())
      .Bind(12, static_cast<int64_t>(s.erased()))
      .Bind(13, OptionalMicros(s.erase_time(), s.has_erase_time()))
      .Bind(14, *OptionalMicros(s.create_time(), true))
      .Bind(15, *OptionalMicros(s.update_time(), true))
      .Bind(16, version)
      .Bind(17, id);
  return stmt.Run();
}

}  // namespace

void Engagement::RedactStakeholder(const runtime::Caller& caller, v1::Stakeholder& s) {
  if (caller.Can(runtime::Permission::kPersonalDataRead)) {
    const auto& c = s.contact();
    if (!s.display_name().empty() || !c.email().empty() || !c.phone().empty() ||
        !c.postal_address().empty()) {
      caller.NotePersonalDataRead();
    }
    return;
  }
  s.clear_display_name();
  s.clear_contact();
  s.set_personal_data_redacted(true);
}

absl::StatusOr<v1::Stakeholder> Engagement::LoadStakeholder(Transaction& tx,
                                                            const std::string& id) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare(absl::StrCat("SELECT ", kColumns, " FROM stakeholder WHERE id = ?")));
  stmt.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return runtime::NotFound("Stakeholder", StakeholderName(id));
  return FromRow(stmt);
}

absl::Status Engagement::CheckLocalityField(const std::string& locality, const std::string& field) {
  if (locality.empty()) return absl::OkStatus();
  if (!IsLocalityName(locality)) return runtime::InvalidArgument(field, "must be localities/{id}");
  if (registry_ == nullptr) return absl::OkStatus();
  absl::Status status = registry_->CheckLocality(locality);
  if (absl::IsNotFound(status)) {
    return runtime::InvalidArgument(field, "no such locality in the registry");
  }
  if (!status.ok()) return runtime::Annotate(status, "registry");
  return absl::OkStatus();
}

absl::Status Engagement::CreateStakeholder(const runtime::Caller& caller,
                                           const v1::CreateStakeholderRequest& request,
                                           v1::Stakeholder* out) {
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  v1::Stakeholder s = request.stakeholder();
  RETURN_IF_ERROR(ValidateStakeholder(s));
  if (!request.stakeholder_id().empty()) {
    // A chosen id would be logged and shown to everyone; people's names must not end up there.
    return runtime::InvalidArgument("stakeholder_id", "assigned by the server; leave it empty");
  }
  RETURN_IF_ERROR(CheckLocalityField(s.locality(), "stakeholder.locality"));
  const std::string id = NewId('s');
  const int64_t now = ToMicros(Now());
  s.set_name(StakeholderName(id));
  s.set_erased(false);
  s.clear_erase_time();
  s.set_personal_data_redacted(false);
  // Consents are stamped by the server when recorded.
  s.mutable_contact_consent()->clear_record_time();
  s.mutable_publish_consent()->clear_record_time();
  SetTimestamp(s.mutable_contact_consent()->mutable_record_time(), now);
  SetTimestamp(s.mutable_publish_consent()->mutable_record_time(), now);
  SetTimestamp(s.mutable_create_time(), now);
  SetTimestamp(s.mutable_update_time(), now);
  {
    RETURN_IF_ERROR(store_.Write([&](Transaction& tx) -> absl::Status {
      std::string result_id = id;  // per attempt: a retried transaction starts afresh
      ASSIGN_OR_RETURN(auto previous, FindRequest(tx, "CreateStakeholder", caller.principal,
                                                  request.request_id(), request));
      if (previous.has_value()) {
        ASSIGN_OR_RETURN(result_id, ParseStakeholderName(*previous, "request_id"));
      } else {
        absl::Status saved = Save(tx, id, s, 1, /*insert=*/true);
        if (absl::IsAlreadyExists(saved)) return runtime::AlreadyExists("Stakeholder", s.name());
        RETURN_IF_ERROR(saved);
        RETURN_IF_ERROR(RecordRequest(tx, "CreateStakeholder", caller.principal,
                                      request.request_id(), request, s.name(), now));
      }
      ASSIGN_OR_RETURN(*out, LoadStakeholder(tx, result_id));
      return absl::OkStatus();
    }));
  }
  runtime::log::Info("stakeholder created",
                     {{"stakeholder", out->name()}, {"kind", runtime::EnumShortName(out->kind())}});
  RedactStakeholder(caller, *out);
  return absl::OkStatus();
}

absl::Status Engagement::GetStakeholder(const runtime::Caller& caller,
                                        const v1::GetStakeholderRequest& request,
                                        v1::Stakeholder* out) {
  ASSIGN_OR_RETURN(std::string id, ParseStakeholderName(request.name(), "name"));
  // Always from the store, never from a cache: personal data must not outlive its change or
  // erasure anywhere (docs/cache-keys.md, "Personal data"). A read by primary key costs
  // microseconds.
  {
    RETURN_IF_ERROR(store_.Read([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(*out, LoadStakeholder(tx, id));
      return absl::OkStatus();
    }));
  }
  RedactStakeholder(caller, *out);
  return absl::OkStatus();
}

absl::Status Engagement::ListStakeholders(const runtime::Caller& caller,
                                          const v1::ListStakeholdersRequest& request,
                                          v1::ListStakeholdersResponse* out) {
  if (!v1::StakeholderKind_IsValid(request.kind())) {
    return runtime::InvalidArgument("kind", "unknown stakeholder kind");
  }
  ASSIGN_OR_RETURN(
      KeysetPage page,
      KeysetPage::Start(page_tokens_, absl::StrCat("stakeholders|kind=", request.kind()),
                        request.page_size(), request.page_token(),
                        {.default_size = 50, .max_size = 500, .max_bytes = options_.reply_bytes}));
  return store_.Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement stmt,
        tx.Prepare(absl::StrCat(
            "SELECT ", kColumns,
            " FROM stakeholder WHERE id > ? AND (? = 0 OR kind = ?) ORDER BY id LIMIT ?")));
    stmt.Bind(1, page.after())
        .Bind(2, static_cast<int64_t>(request.kind()))
        .Bind(3, static_cast<int64_t>(request.kind()))
        .Bind(4, page.fetch_limit());
    RETURN_IF_ERROR(page.Collect(
        stmt, FromRow, [](const Statement& row) { return row.Text(0); },
        *out->mutable_stakeholders(), out->mutable_next_page_token()));
    for (auto& s : *out->mutable_stakeholders()) RedactStakeholder(caller, s);
    return absl::OkStatus();
  });
}

absl::Status Engagement::UpdateStakeholder(const runtime::Caller& caller,
                                           const v1::UpdateStakeholderRequest& request,
                                           v1::Stakeholder* out) {
  const v1::Stakeholder& in = request.stakeholder();
  ASSIGN_OR_RETURN(std::string id, ParseStakeholderName(in.name(), "stakeholder.name"));
  RETURN_IF_ERROR(CheckMask(
      request.update_mask(),
      {"kind", "display_name", "organisation", "contact", "contact.email", "contact.phone",
       "contact.postal_address", "contact_consent", "publish_consent", "locality"},
      "Stakeholder"));
  const auto& mask = request.update_mask();
  if (MaskHas(mask, "locality")) {
    RETURN_IF_ERROR(CheckLocalityField(in.locality(), "stakeholder.locality"));
  }
  const int64_t now = ToMicros(Now());
  {
    RETURN_IF_ERROR(store_.Write([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(v1::Stakeholder s, LoadStakeholder(tx, id));
      const int64_t version = VersionOf(s);
      RETURN_IF_ERROR(CheckEtag("Stakeholder", s.name(), in.etag(), version));
      if (s.erased()) {
        return runtime::FailedPrecondition("STATE", s.name(), "the stakeholder has been erased");
      }
      if (MaskHas(mask, "kind")) s.set_kind(in.kind());
      if (MaskHas(mask, "display_name")) s.set_display_name(in.display_name());
      if (MaskHas(mask, "organisation")) s.set_organisation(in.organisation());
      if (MaskHas(mask, "contact")) *s.mutable_contact() = in.contact();
      if (MaskHas(mask, "contact.email")) s.mutable_contact()->set_email(in.contact().email());
      if (MaskHas(mask, "contact.phone")) s.mutable_contact()->set_phone(in.contact().phone());
      if (MaskHas(mask, "contact.postal_address")) {
        s.mutable_contact()->set_postal_address(in.contact().postal_address());
      }
      if (MaskHas(mask, "contact_consent")) {
        s.mutable_contact_consent()->set_granted(in.contact_consent().granted());
        SetTimestamp(s.mutable_contact_consent()->mutable_record_time(), now);
      }
      if (MaskHas(mask, "publish_consent")) {
        s.mutable_publish_consent()->set_granted(in.publish_consent().granted());
        SetTimestamp(s.mutable_publish_consent()->mutable_record_time(), now);
      }
      if (MaskHas(mask, "locality")) s.set_locality(in.locality());
      RETURN_IF_ERROR(ValidateStakeholder(s));
      SetTimestamp(s.mutable_update_time(), now);
      RETURN_IF_ERROR(Save(tx, id, s, version + 1, /*insert=*/false));
      ASSIGN_OR_RETURN(*out, LoadStakeholder(tx, id));
      return absl::OkStatus();
    }));
  }
  runtime::log::Info("stakeholder updated", {{"stakeholder", out->name()}});
  RedactStakeholder(caller, *out);
  return absl::OkStatus();
}

absl::Status Engagement::EraseStakeholder(const runtime::Caller& caller,
                                          const v1::EraseStakeholderRequest& request,
                                          v1::Stakeholder* out) {
  ASSIGN_OR_RETURN(std::string id, ParseStakeholderName(request.name(), "name"));
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  const int64_t now = ToMicros(Now());
  int anonymised = 0;
  {
    RETURN_IF_ERROR(store_.Write([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(v1::Stakeholder s, LoadStakeholder(tx, id));
      const int64_t version = VersionOf(s);
      if (!s.erased()) {
        RETURN_IF_ERROR(CheckEtag("Stakeholder", s.name(), request.etag(), version));
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
        // Their responses stay, unlinked and without free text (which may identify them); themes,
        // sentiment, channel and locality stay, so the counters need no change.
        ASSIGN_OR_RETURN(Statement anon,
                         tx.Prepare("UPDATE response SET stakeholder_id = NULL, text = '', "
                                    "anonymised = 1, update_time = ?, version = version + 1 "
                                    "WHERE stakeholder_id = ?"));
        anon.Bind(1, now).Bind(2, id);
        RETURN_IF_ERROR(anon.Run());
        anonymised = anon.Changes();
      }
      ASSIGN_OR_RETURN(*out, LoadStakeholder(tx, id));
      return absl::OkStatus();
    }));
  }
  // Push the old page images out of the WAL too (best effort: readers may hold it).
  (void)store_.CheckpointWal();
  runtime::log::Info("stakeholder erased",
                     {{"stakeholder", out->name()}, {"responses_anonymised", anonymised}});
  RedactStakeholder(caller, *out);
  return absl::OkStatus();
}

}  // namespace dorset::engagement
