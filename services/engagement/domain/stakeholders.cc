// Stakeholders: create/get/list/update, consents stamped with their time, and erasure.
#include "services/engagement/domain/stakeholders.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/api/enum_names.h"
#include "runtime/api/request_id.h"
#include "runtime/auth/permissions.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/keyset_page.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/domain/rows.h"
#include "services/engagement/storage/requests.h"
#include "services/engagement/storage/stakeholder_rows.h"

namespace dorset::engagement {
namespace {

using runtime::storage::KeysetPage;

int64_t VersionOf(const v1::Stakeholder& s) {
  // Etag is W/"<version>".
  int64_t version = 0;
  for (char c : s.etag()) {
    if (c >= '0' && c <= '9') version = version * 10 + (c - '0');
  }
  return version;
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

}  // namespace

void Stakeholders::RedactStakeholder(const runtime::Caller& caller, v1::Stakeholder& s) {
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

absl::Status Stakeholders::CreateStakeholder(const runtime::Caller& caller,
                                             const v1::CreateStakeholderRequest& request,
                                             v1::Stakeholder* out) {
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  v1::Stakeholder s = request.stakeholder();
  RETURN_IF_ERROR(ValidateStakeholder(s));
  if (!request.stakeholder_id().empty()) {
    // A chosen id would be logged and shown to everyone; people's names must not end up there.
    return runtime::InvalidArgument("stakeholder_id", "assigned by the server; leave it empty");
  }
  RETURN_IF_ERROR(ctx_.CheckLocalityField(s.locality(), "stakeholder.locality"));
  const std::string id = NewId('s');
  const int64_t now = ToMicros(ctx_.Now());
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
    RETURN_IF_ERROR(ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
      std::string result_id = id;  // per attempt: a retried transaction starts afresh
      ASSIGN_OR_RETURN(auto previous, FindRequest(tx, "CreateStakeholder", caller.principal,
                                                  request.request_id(), request));
      if (previous.has_value()) {
        ASSIGN_OR_RETURN(result_id, ParseStakeholderName(*previous, "request_id"));
      } else {
        absl::Status saved = SaveStakeholderRow(tx, id, s, 1, /*insert=*/true);
        if (absl::IsAlreadyExists(saved)) return runtime::AlreadyExists("Stakeholder", s.name());
        RETURN_IF_ERROR(saved);
        RETURN_IF_ERROR(RecordRequest(tx, "CreateStakeholder", caller.principal,
                                      request.request_id(), request, s.name(), now));
      }
      ASSIGN_OR_RETURN(*out, LoadStakeholderRow(tx, result_id));
      return absl::OkStatus();
    }));
  }
  runtime::log::Info("stakeholder created",
                     {{"stakeholder", out->name()}, {"kind", runtime::EnumShortName(out->kind())}});
  RedactStakeholder(caller, *out);
  return absl::OkStatus();
}

absl::Status Stakeholders::GetStakeholder(const runtime::Caller& caller,
                                          const v1::GetStakeholderRequest& request,
                                          v1::Stakeholder* out) {
  ASSIGN_OR_RETURN(std::string id, ParseStakeholderName(request.name(), "name"));
  // Always from the store, never from a cache: personal data must not outlive its change or
  // erasure anywhere (docs/cache-keys.md, "Personal data"). A read by primary key costs
  // microseconds.
  {
    RETURN_IF_ERROR(ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(*out, LoadStakeholderRow(tx, id));
      return absl::OkStatus();
    }));
  }
  RedactStakeholder(caller, *out);
  return absl::OkStatus();
}

absl::Status Stakeholders::ListStakeholders(const runtime::Caller& caller,
                                            const v1::ListStakeholdersRequest& request,
                                            v1::ListStakeholdersResponse* out) {
  if (!v1::StakeholderKind_IsValid(request.kind())) {
    return runtime::InvalidArgument("kind", "unknown stakeholder kind");
  }
  ASSIGN_OR_RETURN(
      KeysetPage page,
      KeysetPage::Start(
          ctx_.page_tokens, absl::StrCat("stakeholders|kind=", request.kind()), request.page_size(),
          request.page_token(),
          {.default_size = 50, .max_size = 500, .max_bytes = ctx_.options.reply_bytes}));
  return ctx_.store.Read([&](StoreTx& tx) -> absl::Status {
    RETURN_IF_ERROR(ListStakeholderRows(tx, page, request.kind(), *out->mutable_stakeholders(),
                                        out->mutable_next_page_token()));
    for (auto& s : *out->mutable_stakeholders()) RedactStakeholder(caller, s);
    return absl::OkStatus();
  });
}

absl::Status Stakeholders::UpdateStakeholder(const runtime::Caller& caller,
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
    RETURN_IF_ERROR(ctx_.CheckLocalityField(in.locality(), "stakeholder.locality"));
  }
  const int64_t now = ToMicros(ctx_.Now());
  {
    RETURN_IF_ERROR(ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(v1::Stakeholder s, LoadStakeholderRow(tx, id));
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
      RETURN_IF_ERROR(SaveStakeholderRow(tx, id, s, version + 1, /*insert=*/false));
      ASSIGN_OR_RETURN(*out, LoadStakeholderRow(tx, id));
      return absl::OkStatus();
    }));
  }
  runtime::log::Info("stakeholder updated", {{"stakeholder", out->name()}});
  RedactStakeholder(caller, *out);
  return absl::OkStatus();
}

absl::Status Stakeholders::EraseStakeholder(const runtime::Caller& caller,
                                            const v1::EraseStakeholderRequest& request,
                                            v1::Stakeholder* out) {
  ASSIGN_OR_RETURN(std::string id, ParseStakeholderName(request.name(), "name"));
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  const int64_t now = ToMicros(ctx_.Now());
  int64_t anonymised = 0;
  {
    RETURN_IF_ERROR(ctx_.store.Write([&](StoreTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(v1::Stakeholder s, LoadStakeholderRow(tx, id));
      const int64_t version = VersionOf(s);
      if (!s.erased()) {
        RETURN_IF_ERROR(CheckEtag("Stakeholder", s.name(), request.etag(), version));
        ASSIGN_OR_RETURN(anonymised, EraseStakeholderRows(tx, id, now));
      }
      ASSIGN_OR_RETURN(*out, LoadStakeholderRow(tx, id));
      return absl::OkStatus();
    }));
  }
  // Push the old page images out of the WAL too (best effort: readers may hold it).
  (void)ctx_.store.CheckpointWal();
  runtime::log::Info("stakeholder erased",
                     {{"stakeholder", out->name()}, {"responses_anonymised", anonymised}});
  RedactStakeholder(caller, *out);
  return absl::OkStatus();
}

}  // namespace dorset::engagement
