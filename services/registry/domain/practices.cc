// RegistryDomain's practice methods: reads through the caches, and the three writes (create,
// update, close), each one store transaction with its idempotency record, then CommitEffects.
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/api/page_token.h"
#include "runtime/api/request_id.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "services/registry/client/cache_keys.h"
#include "services/registry/closure_policy.h"
#include "services/registry/domain/practice_rules.h"
#include "services/registry/domain/registry_domain.h"
#include "services/registry/importer.h"
#include "services/registry/practice_fields.h"
#include "services/registry/stored_text.h"
#include "services/registry/validation.h"

namespace dorset::registry {

using runtime::FieldViolation;

namespace {

// DORSET_REGISTRY_PRACTICE_BYTES=off builds ListPractices' pages as messages and serialises
// them, as before storage/practice_bytes.h: for measuring the difference (bench/search_bench.sh)
// and as a way back.
bool PracticeBytesOn() {
  static const bool on = [] {
    const char* value = std::getenv("DORSET_REGISTRY_PRACTICE_BYTES");
    return value == nullptr || (std::string_view(value) != "off" && std::string_view(value) != "0");
  }();
  return on;
}

}  // namespace

RegistryDomain::RegistryDomain(Store& store, RegistryCache& cache, CommitEffects& effects,
                               runtime::PageTokenCodec tokens)
    : store_(store), cache_(cache), effects_(effects), tokens_(std::move(tokens)) {}

absl::Status RegistryDomain::GetPractice(const v1::GetPracticeRequest& request,
                                         v1::Practice* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  ASSIGN_OR_RETURN(std::string code, PracticeCode(request.name(), "name"));
  if (std::shared_ptr<const v1::Practice> cached = cache_.LocalPractice(code)) {
    *response = *cached;
    return absl::OkStatus();
  }
  const uint64_t generation = cache_.generation();
  ASSIGN_OR_RETURN(std::optional<v1::Practice> practice, store_.GetPractice(code));
  if (!practice) return runtime::NotFound("Practice", request.name());
  cache_.FillPractice(*practice, generation);
  *response = *std::move(practice);
  return absl::OkStatus();
}

absl::Status RegistryDomain::ListPractices(
    const v1::ListPracticesRequest& request,
    runtime::SerializedReply<v1::ListPracticesResponse>* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  ASSIGN_OR_RETURN(int page_size,
                   runtime::EffectivePageSize(request.page_size(), kDefaultPracticePage, kMaxPage));
  ASSIGN_OR_RETURN(PracticeQuery query, BuildPracticeQuery(request));
  if (!query.locality_id.empty()) {
    ASSIGN_OR_RETURN(bool exists, store_.LocalityExists(query.locality_id));
    if (!exists) return runtime::NotFound("Locality", request.locality());
  }
  if (!query.cluster_id.empty()) {
    ASSIGN_OR_RETURN(bool exists, store_.ClusterExists(query.cluster_id));
    if (!exists) return runtime::NotFound("Cluster", request.cluster());
  }
  v1::ListPracticesRequest fingerprint_request = request;
  fingerprint_request.clear_page_size();
  fingerprint_request.clear_page_token();
  const std::string fingerprint =
      absl::StrCat("ListPractices:", fingerprint_request.SerializeAsString());
  std::optional<PracticeCursor> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string position, tokens_.Decode(fingerprint, request.page_token()));
    ASSIGN_OR_RETURN(after, DecodeCursor(position));
  }
  using Reply = v1::ListPracticesResponse;
  if (!PracticeBytesOn()) {  // the page's messages, serialised (as before practice_bytes.h)
    ASSIGN_OR_RETURN(PracticePage page, store_.ListPractices(query, after, page_size));
    Reply reply;
    for (auto& p : page.practices) *reply.add_practices() = std::move(p);
    reply.set_total_size(page.total_size);
    if (page.last) {
      reply.set_next_page_token(tokens_.Encode(fingerprint, EncodeCursor(*page.last)));
    }
    response->bytes = reply.SerializeAsString();
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(PracticeBytesPage page,
                   store_.ListPracticeBytes(query, after, page_size, Reply::kPracticesFieldNumber));
  // The fields in number order, as protobuf's serialiser writes them.
  std::string& bytes = response->bytes;
  bytes = std::move(page.practices);
  if (page.last) {
    wire::AppendBytesField(Reply::kNextPageTokenFieldNumber,
                           tokens_.Encode(fingerprint, EncodeCursor(*page.last)), &bytes);
  }
  if (page.total_size != 0) {
    wire::AppendInt32Field(Reply::kTotalSizeFieldNumber, page.total_size, &bytes);
  }
  return absl::OkStatus();
}

absl::Status RegistryDomain::CreatePractice(const runtime::Caller& caller,
                                            const v1::CreatePracticeRequest& request,
                                            v1::Practice* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  v1::Practice practice = request.practice();
  std::vector<FieldViolation> violations;
  if (!IsPracticeCode(practice.ods_code())) {
    violations.push_back({"practice.ods_code", "must be an ODS practice code, e.g. J81016"});
  }
  for (const char* field :
       {"display_name", "address_lines", "postcode", "telephone", "prescribing_setting", "locality",
        "list_size", "list_size_date", "status", "icb", "region", "commissioner", "open_date",
        "close_date", "organisation_sub_type", "provider_purchaser", "join_provider_date",
        "left_provider_date"}) {
    CheckField(practice, field, violations);
  }
  if (!practice.successor().empty()) {
    violations.push_back({"practice.successor", "set by ClosePractice, not on create"});
  }
  if (absl::Status id = runtime::CheckRequestId(request.request_id()); !id.ok()) {
    violations.push_back({"request_id", std::string(id.message())});
  }
  if (!violations.empty()) return runtime::InvalidArguments(std::move(violations));
  RETURN_IF_ERROR(CheckListSizePair(practice));
  Normalize(practice);
  // Output-only fields are ignored.
  practice.clear_name();
  practice.clear_etag();
  practice.clear_create_time();
  practice.clear_update_time();
  const std::string name = absl::StrCat("practices/", practice.ods_code());
  const std::string request_hash = runtime::RequestHash(request);
  ASSIGN_OR_RETURN(
      std::vector<CommittedChange> changes,
      store_.Write("api", caller.principal, [&](WriteTx& tx) -> absl::Status {
        if (!request.request_id().empty()) {
          ASSIGN_OR_RETURN(std::optional<std::string> stored,
                           tx.FindRequest(request.request_id(), "CreatePractice", request_hash));
          if (stored) {
            if (!response->ParseFromString(*stored)) return runtime::Internal("stored response");
            return absl::OkStatus();
          }
        }
        ASSIGN_OR_RETURN(std::optional<v1::Practice> existing,
                         tx.LoadPractice(practice.ods_code()));
        if (existing) return runtime::AlreadyExists("Practice", name);
        if (practice.locality().empty()) {
          ASSIGN_OR_RETURN(std::optional<std::string> assigned,
                           tx.AssignedLocality(practice.ods_code()));
          if (assigned) practice.set_locality(absl::StrCat("localities/", *assigned));
        } else {
          const std::string id = practice.locality().substr(sizeof("localities/") - 1);
          ASSIGN_OR_RETURN(std::optional<LocalityRow> locality, tx.LoadLocality(id));
          if (!locality) return runtime::InvalidArgument("practice.locality", "no such locality");
          RETURN_IF_ERROR(tx.SetAssignment(practice.ods_code(), id).status());
        }
        RETURN_IF_ERROR(tx.SavePractice(practice, nullptr, v1::Change::KIND_PRACTICE_CREATED, {}));
        *response = practice;
        if (!request.request_id().empty()) {
          RETURN_IF_ERROR(tx.SaveRequest(request.request_id(), "CreatePractice", request_hash,
                                         response->SerializeAsString()));
        }
        return absl::OkStatus();
      }));
  effects_.AfterCommit(changes);
  return absl::OkStatus();
}

absl::Status RegistryDomain::UpdatePractice(const runtime::Caller& caller,
                                            const v1::UpdatePracticeRequest& request,
                                            v1::Practice* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  ASSIGN_OR_RETURN(std::string code, PracticeCode(request.practice().name(), "practice.name"));
  if (request.update_mask().paths_size() == 0) {
    return runtime::InvalidArgument("update_mask", "list the fields to update");
  }
  std::vector<std::string> paths;
  std::vector<FieldViolation> violations;
  const auto& updatable = UpdatableFields();
  for (const std::string& path : request.update_mask().paths()) {
    if (std::find(updatable.begin(), updatable.end(), path) == updatable.end()) {
      violations.push_back({"update_mask.paths", absl::StrCat(path, " cannot be updated")});
      continue;
    }
    if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
    CheckField(request.practice(), path, violations);
  }
  if (std::find(paths.begin(), paths.end(), "status") != paths.end() &&
      request.practice().status() == v1::Practice::STATUS_CLOSED) {
    violations.push_back({"practice.status", "use ClosePractice to close a practice"});
  }
  if (absl::Status id = runtime::CheckRequestId(request.request_id()); !id.ok()) {
    violations.push_back({"request_id", std::string(id.message())});
  }
  if (!violations.empty()) return runtime::InvalidArguments(std::move(violations));
  v1::Practice patch = request.practice();
  Normalize(patch);
  const std::string& name = request.practice().name();
  const std::string request_hash = runtime::RequestHash(request);
  ASSIGN_OR_RETURN(
      std::vector<CommittedChange> changes,
      store_.Write("api", caller.principal, [&](WriteTx& tx) -> absl::Status {
        if (!request.request_id().empty()) {
          ASSIGN_OR_RETURN(std::optional<std::string> stored,
                           tx.FindRequest(request.request_id(), "UpdatePractice", request_hash));
          if (stored) {
            if (!response->ParseFromString(*stored)) return runtime::Internal("stored response");
            return absl::OkStatus();
          }
        }
        ASSIGN_OR_RETURN(std::optional<v1::Practice> existing, tx.LoadPractice(code));
        if (!existing) return runtime::NotFound("Practice", name);
        RETURN_IF_ERROR(CheckEtag(*existing, request.practice().etag(), "practice.etag"));
        v1::Practice updated = *existing;
        CopyFields(patch, updated, paths);
        RETURN_IF_ERROR(CheckListSizePair(updated));
        // Reopening: a practice that is no longer closed has no close date or successor.
        if (updated.status() != v1::Practice::STATUS_CLOSED) ClearClosure(updated);
        if (std::find(paths.begin(), paths.end(), "locality") != paths.end() &&
            !updated.locality().empty()) {
          const std::string id = updated.locality().substr(sizeof("localities/") - 1);
          ASSIGN_OR_RETURN(std::optional<LocalityRow> locality, tx.LoadLocality(id));
          if (!locality) return runtime::InvalidArgument("practice.locality", "no such locality");
          RETURN_IF_ERROR(tx.SetAssignment(code, id).status());
        }
        std::vector<std::string> written = paths;
        for (const char* f : {"close_date", "successor", "closed_ahead_of_ods"}) {
          if (std::find(written.begin(), written.end(), f) == written.end()) {
            written.push_back(f);
          }
        }
        std::vector<std::string> changed = DiffFields(*existing, updated, written);
        if (!changed.empty()) {
          RETURN_IF_ERROR(
              tx.SavePractice(updated, &*existing, UpdateKind(*existing, updated), changed));
        }
        *response = updated;
        if (!request.request_id().empty()) {
          RETURN_IF_ERROR(tx.SaveRequest(request.request_id(), "UpdatePractice", request_hash,
                                         response->SerializeAsString()));
        }
        return absl::OkStatus();
      }));
  effects_.AfterCommit(changes);
  return absl::OkStatus();
}

absl::Status RegistryDomain::ClosePractice(const runtime::Caller& caller,
                                           const v1::ClosePracticeRequest& request,
                                           v1::Practice* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  ASSIGN_OR_RETURN(std::string code, PracticeCode(request.name(), "name"));
  std::optional<std::string> successor_code;
  if (!request.successor().empty()) {
    ASSIGN_OR_RETURN(successor_code, PracticeCode(request.successor(), "successor"));
    if (*successor_code == code) {
      return runtime::InvalidArgument("successor", "a practice cannot succeed itself");
    }
  }
  std::string close_date = request.close_date();
  if (close_date.empty()) {
    close_date = absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  } else if (!IsIsoDate(close_date)) {
    return runtime::InvalidArgument("close_date", "not a date (YYYY-MM-DD)");
  }
  RETURN_IF_ERROR(runtime::CheckRequestId(request.request_id()));
  const std::string request_hash = runtime::RequestHash(request);
  ASSIGN_OR_RETURN(
      std::vector<CommittedChange> changes,
      store_.Write("api", caller.principal, [&](WriteTx& tx) -> absl::Status {
        if (!request.request_id().empty()) {
          ASSIGN_OR_RETURN(std::optional<std::string> stored,
                           tx.FindRequest(request.request_id(), "ClosePractice", request_hash));
          if (stored) {
            if (!response->ParseFromString(*stored)) return runtime::Internal("stored response");
            return absl::OkStatus();
          }
        }
        ASSIGN_OR_RETURN(std::optional<v1::Practice> existing, tx.LoadPractice(code));
        if (!existing) return runtime::NotFound("Practice", request.name());
        RETURN_IF_ERROR(CheckEtag(*existing, request.etag(), "etag"));
        if (existing->status() == v1::Practice::STATUS_CLOSED) {
          return runtime::FailedPrecondition("STATE", request.name(), "already closed");
        }
        if (close_date < existing->open_date()) {
          return runtime::InvalidArgument("close_date", "before the practice opened");
        }
        v1::Practice updated = *existing;
        if (successor_code) {
          ASSIGN_OR_RETURN(std::optional<v1::Practice> successor, tx.LoadPractice(*successor_code));
          if (!successor) {
            return runtime::FailedPrecondition("SUCCESSOR", request.successor(),
                                               "the successor practice does not exist");
          }
          if (successor->status() == v1::Practice::STATUS_CLOSED) {
            return runtime::FailedPrecondition("SUCCESSOR", request.successor(),
                                               "the successor practice is closed");
          }
          updated.set_successor(successor->name());
        }
        updated.set_status(v1::Practice::STATUS_CLOSED);
        updated.set_close_date(close_date);
        // ODS has not published this closure (it would be CLOSED already): an import must
        // not undo it silently (closure_policy.h).
        updated.set_closed_ahead_of_ods(true);
        std::vector<std::string> changed = DiffFields(
            *existing, updated, {"status", "close_date", "successor", "closed_ahead_of_ods"});
        RETURN_IF_ERROR(
            tx.SavePractice(updated, &*existing, v1::Change::KIND_PRACTICE_CLOSED, changed));
        *response = updated;
        if (!request.request_id().empty()) {
          RETURN_IF_ERROR(tx.SaveRequest(request.request_id(), "ClosePractice", request_hash,
                                         response->SerializeAsString()));
        }
        return absl::OkStatus();
      }));
  effects_.AfterCommit(changes);
  return absl::OkStatus();
}

absl::Status RegistryDomain::ListPracticeRevisions(const v1::ListPracticeRevisionsRequest& request,
                                                   v1::ListPracticeRevisionsResponse* response) {
  RETURN_IF_ERROR(CheckRequestText(request));
  ASSIGN_OR_RETURN(std::string code, PracticeCode(request.name(), "name"));
  ASSIGN_OR_RETURN(int page_size,
                   runtime::EffectivePageSize(request.page_size(), kDefaultPracticePage, kMaxPage));
  ASSIGN_OR_RETURN(std::optional<v1::Practice> practice, store_.GetPractice(code));
  if (!practice) return runtime::NotFound("Practice", request.name());
  const std::string fingerprint = absl::StrCat("ListPracticeRevisions:", code);
  int64_t before = INT64_MAX;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string position, tokens_.Decode(fingerprint, request.page_token()));
    if (!absl::SimpleAtoi(position, &before)) {
      return runtime::InvalidArgument("page_token", "not a token of this query");
    }
  }
  ASSIGN_OR_RETURN(std::vector<v1::PracticeRevision> revisions,
                   store_.ListRevisions(code, before, page_size + 1));
  const bool more = static_cast<int>(revisions.size()) > page_size;
  if (more) revisions.resize(page_size);
  for (auto& r : revisions) *response->add_revisions() = std::move(r);
  if (more) {
    response->set_next_page_token(
        tokens_.Encode(fingerprint, absl::StrCat(response->revisions().rbegin()->revision())));
  }
  return absl::OkStatus();
}

}  // namespace dorset::registry
