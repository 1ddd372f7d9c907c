#include "services/registry/registry_service.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "runtime/api/repeated_limits.h"
#include "runtime/api/request_id.h"
#include "runtime/base/string_view.h"
#include "runtime/logging/log.h"
#include "runtime/server/stream_writer.h"
#include "runtime/server/streaming.h"
#include "runtime/server/unary.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/etag.h"
#include "services/registry/client/cache_keys.h"
#include "services/registry/closure_policy.h"
#include "services/registry/importer.h"
#include "services/registry/practice_fields.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {
namespace {

// The documented caps on the repeated fields of registry requests (docs/registry.md), checked
// by count before any per-item work; update_mask.paths takes runtime::kMaxMaskPaths.
constexpr runtime::RepeatedLimit kRequestLimits[] = {
    {"statuses", 10},
    {"practice.address_lines", 5},
};

using runtime::Caller;
using runtime::FieldViolation;

constexpr int kDefaultPracticePage = 50;
constexpr int kDefaultPage = 100;
constexpr int kMaxPage = 1000;
constexpr int kWatchBatch = 256;
constexpr int64_t kMaxListSize = 1'000'000;

absl::StatusOr<std::string> PracticeCode(const std::string& name, std::string_view field) {
  std::optional<std::string> code = IdFromName(name, "practices");
  if (!code || !IsPracticeCode(*code)) {
    return runtime::InvalidArgument(field, "must be practices/{ods_code}, e.g. practices/J81016");
  }
  return *code;
}

absl::StatusOr<std::string> SlugFrom(const std::string& name, std::string_view collection,
                                     std::string_view field) {
  std::optional<std::string> id = IdFromName(name, collection);
  if (!id || !IsSlug(*id)) {
    return runtime::InvalidArgument(
        field, absl::StrCat("must be ", std::string(collection), "/{id} with a lower-case id"));
  }
  return *id;
}

// Checks the value of one updatable/creatable field; appends violations.
void CheckField(const v1::Practice& p, const std::string& field,
                std::vector<FieldViolation>& violations) {
  const std::string path = absl::StrCat("practice.", field);
  if (field == "display_name") {
    if (auto problem = TextProblem(p.display_name(), kMaxNameLength)) {
      violations.push_back({path, *problem});
    } else if (!IsGoodName(p.display_name())) {
      violations.push_back({path, "must be 1-100 printable characters"});
    }
  } else if (field == "address_lines") {
    if (p.address_lines_size() > kMaxAddressLines) {
      violations.push_back({path, "at most 5 lines"});
    }
    for (int i = 0; i < p.address_lines_size(); ++i) {
      if (auto problem = TextProblem(p.address_lines(i), kMaxAddressLineLength)) {
        violations.push_back({absl::StrCat(path, "[", i, "]"), *problem});
      }
    }
  } else if (field == "organisation_sub_type" || field == "provider_purchaser") {
    const std::string& value =
        field == "organisation_sub_type" ? p.organisation_sub_type() : p.provider_purchaser();
    if (auto problem = TextProblem(value, 20)) violations.push_back({path, *problem});
  } else if (field == "join_provider_date" || field == "left_provider_date") {
    const std::string& value =
        field == "join_provider_date" ? p.join_provider_date() : p.left_provider_date();
    if (!value.empty() && !IsIsoDate(value))
      violations.push_back({path, "not a date (YYYY-MM-DD)"});
  } else if (field == "postcode") {
    if (!NormalizePostcode(p.postcode())) violations.push_back({path, "not a UK postcode"});
  } else if (field == "telephone") {
    if (!IsTelephone(p.telephone())) violations.push_back({path, "not a telephone number"});
  } else if (field == "prescribing_setting") {
    if (p.prescribing_setting() < 0 || p.prescribing_setting() > 99) {
      violations.push_back({path, "must be 0-99"});
    }
  } else if (field == "locality") {
    if (!p.locality().empty()) {
      std::optional<std::string> id = IdFromName(p.locality(), "localities");
      if (!id || !IsSlug(*id)) violations.push_back({path, "must be localities/{id}"});
    }
  } else if (field == "list_size") {
    if (p.has_list_size() && (p.list_size() < 0 || p.list_size() > kMaxListSize)) {
      violations.push_back({path, "must be 0-1000000"});
    }
  } else if (field == "list_size_date") {
    if (!p.list_size_date().empty() && !IsIsoDate(p.list_size_date())) {
      violations.push_back({path, "not a date (YYYY-MM-DD)"});
    }
  } else if (field == "status") {
    if (p.status() == v1::Practice::STATUS_UNSPECIFIED ||
        !v1::Practice::Status_IsValid(p.status())) {
      violations.push_back({path, "must be ACTIVE, CLOSED, DORMANT or PROPOSED"});
    }
  } else if (field == "icb" || field == "region" || field == "commissioner") {
    const std::string& value = field == "icb"      ? p.icb()
                               : field == "region" ? p.region()
                                                   : p.commissioner();
    if (!value.empty() && !IsOrganisationCode(value)) {
      violations.push_back({path, "not an ODS organisation code"});
    }
  } else if (field == "open_date" || field == "close_date") {
    const std::string& value = field == "open_date" ? p.open_date() : p.close_date();
    if ((field == "open_date" || !value.empty()) && !IsIsoDate(value)) {
      violations.push_back({path, "not a date (YYYY-MM-DD)"});
    }
  }
}

// Normalises the fields a caller may send (postcode spelling) after validation.
void Normalize(v1::Practice& p) {
  if (std::optional<std::string> postcode = NormalizePostcode(p.postcode())) {
    p.set_postcode(*postcode);
  }
}

absl::Status CheckListSizePair(const v1::Practice& p) {
  if (p.has_list_size() != !p.list_size_date().empty()) {
    return runtime::InvalidArgument("practice.list_size_date",
                                    "list_size and list_size_date go together");
  }
  return absl::OkStatus();
}

absl::Status CheckEtag(const v1::Practice& stored, const std::string& etag,
                       std::string_view field) {
  ASSIGN_OR_RETURN(int64_t revision, runtime::storage::ParseEtag(stored.etag()));
  return runtime::storage::CheckEtag(etag, revision, "Practice", stored.name(), field);
}

std::string EncodeCursor(const PracticeCursor& c) {
  return absl::StrCat(c.text, "\x1f", c.number, "\x1f", c.ods_code);
}

absl::StatusOr<PracticeCursor> DecodeCursor(const std::string& position) {
  std::vector<std::string> parts = absl::StrSplit(position, '\x1f');
  PracticeCursor c;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &c.number)) {
    return runtime::InvalidArgument("page_token", "not a token of this query");
  }
  c.text = parts[0];
  c.ods_code = parts[2];
  return c;
}

absl::StatusOr<PracticeQuery> BuildPracticeQuery(const v1::ListPracticesRequest& r) {
  PracticeQuery q;
  std::vector<FieldViolation> violations;
  if (!r.locality().empty()) {
    std::optional<std::string> id = IdFromName(r.locality(), "localities");
    if (!id || !IsSlug(*id)) {
      violations.push_back({"locality", "must be localities/{id}"});
    } else {
      q.locality_id = *id;
    }
  }
  if (!r.cluster().empty()) {
    std::optional<std::string> id = IdFromName(r.cluster(), "clusters");
    if (!id || !IsSlug(*id)) {
      violations.push_back({"cluster", "must be clusters/{id}"});
    } else {
      q.cluster_id = *id;
    }
  }
  std::set<int> statuses;
  for (int s : r.statuses()) {
    if (s == v1::Practice::STATUS_UNSPECIFIED || !v1::Practice::Status_IsValid(s)) {
      violations.push_back({"statuses", "must be ACTIVE, CLOSED, DORMANT or PROPOSED"});
      break;
    }
    statuses.insert(s);
  }
  q.statuses.assign(statuses.begin(), statuses.end());
  if (r.name_contains().size() > static_cast<size_t>(kMaxNameLength)) {
    violations.push_back({"name_contains", "longer than 100 characters"});
  }
  q.name_contains = r.name_contains();
  if (!r.postcode_prefix().empty()) {
    q.postcode_prefix_key = PostcodeKey(r.postcode_prefix());
    bool ok = q.postcode_prefix_key.size() <= 7 && !q.postcode_prefix_key.empty();
    for (char c : q.postcode_prefix_key) ok = ok && std::isalnum(static_cast<unsigned char>(c));
    if (!ok) violations.push_back({"postcode_prefix", "must be the start of a UK postcode"});
  }
  if (r.has_prescribing_setting()) {
    if (r.prescribing_setting() < 0 || r.prescribing_setting() > 99) {
      violations.push_back({"prescribing_setting", "must be 0-99"});
    }
    q.prescribing_setting = r.prescribing_setting();
  }
  if (!r.commissioner().empty() && !IsOrganisationCode(r.commissioner())) {
    violations.push_back({"commissioner", "not an ODS organisation code"});
  }
  q.commissioner = r.commissioner();
  std::vector<std::string> order = absl::StrSplit(r.order_by(), ' ', absl::SkipEmpty());
  if (order.size() > 2 || (order.size() == 2 && order[1] != "desc" && order[1] != "asc")) {
    violations.push_back({"order_by", "must be a field optionally followed by \" desc\""});
  } else if (!order.empty()) {
    q.descending = order.size() == 2 && order[1] == "desc";
    const std::string& field = order[0];
    if (field == "ods_code") {
      q.order = PracticeQuery::Order::kOdsCode;
    } else if (field == "display_name") {
      q.order = PracticeQuery::Order::kDisplayName;
    } else if (field == "postcode") {
      q.order = PracticeQuery::Order::kPostcode;
    } else if (field == "update_time") {
      q.order = PracticeQuery::Order::kUpdateTime;
    } else if (field == "list_size") {
      q.order = PracticeQuery::Order::kListSize;
    } else {
      violations.push_back(
          {"order_by", "one of ods_code, display_name, postcode, update_time, list_size"});
    }
  }
  if (!violations.empty()) return runtime::InvalidArguments(std::move(violations));
  return q;
}

}  // namespace

RegistryServiceImpl::RegistryServiceImpl(runtime::CallGate& gate, Store& store,
                                         RegistryCache& cache, ChangeHub& hub,
                                         runtime::PageTokenCodec tokens)
    : gate_(gate), store_(store), cache_(cache), hub_(hub), tokens_(std::move(tokens)) {}

void RegistryServiceImpl::AfterCommit(const std::vector<CommittedChange>& changes) {
  if (changes.empty()) return;
  absl::StatusOr<std::vector<std::string>> localities = store_.LocalityIds();
  absl::StatusOr<std::vector<std::string>> clusters = store_.ClusterIds();
  cache_.Invalidate(changes, localities.ok() ? *localities : std::vector<std::string>{},
                    clusters.ok() ? *clusters : std::vector<std::string>{});
  hub_.Notify();
}

// ---- practices ----

grpc::ServerUnaryReactor* RegistryServiceImpl::GetPractice(grpc::CallbackServerContext* context,
                                                           const v1::GetPracticeRequest* request,
                                                           v1::Practice* response) {
  return runtime::Unary(gate_, context, *request, response, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(CheckRequestText(*request));
    ASSIGN_OR_RETURN(std::string code, PracticeCode(request->name(), "name"));
    if (std::shared_ptr<const v1::Practice> cached = cache_.LocalPractice(code)) {
      *response = *cached;
      return absl::OkStatus();
    }
    const uint64_t generation = cache_.generation();
    ASSIGN_OR_RETURN(std::optional<v1::Practice> practice, store_.GetPractice(code));
    if (!practice) return runtime::NotFound("Practice", request->name());
    cache_.FillPractice(*practice, generation);
    *response = *std::move(practice);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListPractices(
    grpc::CallbackServerContext* context, const v1::ListPracticesRequest* request,
    v1::ListPracticesResponse* response) {
  return runtime::Unary(
      gate_, context, kRequestLimits, *request, response, [&](const Caller&) -> absl::Status {
        RETURN_IF_ERROR(CheckRequestText(*request));
        ASSIGN_OR_RETURN(int page_size, runtime::EffectivePageSize(request->page_size(),
                                                                   kDefaultPracticePage, kMaxPage));
        ASSIGN_OR_RETURN(PracticeQuery query, BuildPracticeQuery(*request));
        if (!query.locality_id.empty()) {
          ASSIGN_OR_RETURN(bool exists, store_.LocalityExists(query.locality_id));
          if (!exists) return runtime::NotFound("Locality", request->locality());
        }
        if (!query.cluster_id.empty()) {
          ASSIGN_OR_RETURN(bool exists, store_.ClusterExists(query.cluster_id));
          if (!exists) return runtime::NotFound("Cluster", request->cluster());
        }
        v1::ListPracticesRequest fingerprint_request = *request;
        fingerprint_request.clear_page_size();
        fingerprint_request.clear_page_token();
        const std::string fingerprint =
            absl::StrCat("ListPractices:", fingerprint_request.SerializeAsString());
        std::optional<PracticeCursor> after;
        if (!request->page_token().empty()) {
          ASSIGN_OR_RETURN(std::string position,
                           tokens_.Decode(fingerprint, request->page_token()));
          ASSIGN_OR_RETURN(after, DecodeCursor(position));
        }
        ASSIGN_OR_RETURN(PracticePage page, store_.ListPractices(query, after, page_size));
        for (auto& p : page.practices) *response->add_practices() = std::move(p);
        response->set_total_size(page.total_size);
        if (page.last)
          response->set_next_page_token(tokens_.Encode(fingerprint, EncodeCursor(*page.last)));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::CreatePractice(
    grpc::CallbackServerContext* context, const v1::CreatePracticeRequest* request,
    v1::Practice* response) {
  return runtime::Unary(
      gate_, context, kRequestLimits, *request, response,
      [&](const Caller& caller) -> absl::Status {
        RETURN_IF_ERROR(CheckRequestText(*request));
        v1::Practice practice = request->practice();
        std::vector<FieldViolation> violations;
        if (!IsPracticeCode(practice.ods_code())) {
          violations.push_back({"practice.ods_code", "must be an ODS practice code, e.g. J81016"});
        }
        for (const char* field :
             {"display_name", "address_lines", "postcode", "telephone", "prescribing_setting",
              "locality", "list_size", "list_size_date", "status", "icb", "region", "commissioner",
              "open_date", "close_date", "organisation_sub_type", "provider_purchaser",
              "join_provider_date", "left_provider_date"}) {
          CheckField(practice, field, violations);
        }
        if (!practice.successor().empty()) {
          violations.push_back({"practice.successor", "set by ClosePractice, not on create"});
        }
        if (absl::Status id = runtime::CheckRequestId(request->request_id()); !id.ok()) {
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
        const std::string request_hash = runtime::RequestHash(*request);
        ASSIGN_OR_RETURN(
            std::vector<CommittedChange> changes,
            store_.Write("api", caller.principal, [&](WriteTx& tx) -> absl::Status {
              if (!request->request_id().empty()) {
                ASSIGN_OR_RETURN(
                    std::optional<std::string> stored,
                    tx.FindRequest(request->request_id(), "CreatePractice", request_hash));
                if (stored) {
                  if (!response->ParseFromString(*stored))
                    return runtime::Internal("stored response");
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
                if (!locality)
                  return runtime::InvalidArgument("practice.locality", "no such locality");
                RETURN_IF_ERROR(tx.SetAssignment(practice.ods_code(), id).status());
              }
              RETURN_IF_ERROR(
                  tx.SavePractice(practice, nullptr, v1::Change::KIND_PRACTICE_CREATED, {}));
              *response = practice;
              if (!request->request_id().empty()) {
                RETURN_IF_ERROR(tx.SaveRequest(request->request_id(), "CreatePractice",
                                               request_hash, response->SerializeAsString()));
              }
              return absl::OkStatus();
            }));
        AfterCommit(changes);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UpdatePractice(
    grpc::CallbackServerContext* context, const v1::UpdatePracticeRequest* request,
    v1::Practice* response) {
  return runtime::Unary(
      gate_, context, kRequestLimits, *request, response,
      [&](const Caller& caller) -> absl::Status {
        RETURN_IF_ERROR(CheckRequestText(*request));
        ASSIGN_OR_RETURN(std::string code,
                         PracticeCode(request->practice().name(), "practice.name"));
        if (request->update_mask().paths_size() == 0) {
          return runtime::InvalidArgument("update_mask", "list the fields to update");
        }
        std::vector<std::string> paths;
        std::vector<FieldViolation> violations;
        const auto& updatable = UpdatableFields();
        for (const std::string& path : request->update_mask().paths()) {
          if (std::find(updatable.begin(), updatable.end(), path) == updatable.end()) {
            violations.push_back({"update_mask.paths", absl::StrCat(path, " cannot be updated")});
            continue;
          }
          if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
          CheckField(request->practice(), path, violations);
        }
        if (std::find(paths.begin(), paths.end(), "status") != paths.end() &&
            request->practice().status() == v1::Practice::STATUS_CLOSED) {
          violations.push_back({"practice.status", "use ClosePractice to close a practice"});
        }
        if (absl::Status id = runtime::CheckRequestId(request->request_id()); !id.ok()) {
          violations.push_back({"request_id", std::string(id.message())});
        }
        if (!violations.empty()) return runtime::InvalidArguments(std::move(violations));
        v1::Practice patch = request->practice();
        Normalize(patch);
        const std::string& name = request->practice().name();
        const std::string request_hash = runtime::RequestHash(*request);
        ASSIGN_OR_RETURN(
            std::vector<CommittedChange> changes,
            store_.Write("api", caller.principal, [&](WriteTx& tx) -> absl::Status {
              if (!request->request_id().empty()) {
                ASSIGN_OR_RETURN(
                    std::optional<std::string> stored,
                    tx.FindRequest(request->request_id(), "UpdatePractice", request_hash));
                if (stored) {
                  if (!response->ParseFromString(*stored))
                    return runtime::Internal("stored response");
                  return absl::OkStatus();
                }
              }
              ASSIGN_OR_RETURN(std::optional<v1::Practice> existing, tx.LoadPractice(code));
              if (!existing) return runtime::NotFound("Practice", name);
              RETURN_IF_ERROR(CheckEtag(*existing, request->practice().etag(), "practice.etag"));
              v1::Practice updated = *existing;
              CopyFields(patch, updated, paths);
              RETURN_IF_ERROR(CheckListSizePair(updated));
              // Reopening: a practice that is no longer closed has no close date or successor.
              if (updated.status() != v1::Practice::STATUS_CLOSED) ClearClosure(updated);
              if (std::find(paths.begin(), paths.end(), "locality") != paths.end() &&
                  !updated.locality().empty()) {
                const std::string id = updated.locality().substr(sizeof("localities/") - 1);
                ASSIGN_OR_RETURN(std::optional<LocalityRow> locality, tx.LoadLocality(id));
                if (!locality)
                  return runtime::InvalidArgument("practice.locality", "no such locality");
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
              if (!request->request_id().empty()) {
                RETURN_IF_ERROR(tx.SaveRequest(request->request_id(), "UpdatePractice",
                                               request_hash, response->SerializeAsString()));
              }
              return absl::OkStatus();
            }));
        AfterCommit(changes);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ClosePractice(
    grpc::CallbackServerContext* context, const v1::ClosePracticeRequest* request,
    v1::Practice* response) {
  return runtime::Unary(
      gate_, context, *request, response, [&](const Caller& caller) -> absl::Status {
        RETURN_IF_ERROR(CheckRequestText(*request));
        ASSIGN_OR_RETURN(std::string code, PracticeCode(request->name(), "name"));
        std::optional<std::string> successor_code;
        if (!request->successor().empty()) {
          ASSIGN_OR_RETURN(successor_code, PracticeCode(request->successor(), "successor"));
          if (*successor_code == code) {
            return runtime::InvalidArgument("successor", "a practice cannot succeed itself");
          }
        }
        std::string close_date = request->close_date();
        if (close_date.empty()) {
          close_date = absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
        } else if (!IsIsoDate(close_date)) {
          return runtime::InvalidArgument("close_date", "not a date (YYYY-MM-DD)");
        }
        RETURN_IF_ERROR(runtime::CheckRequestId(request->request_id()));
        const std::string request_hash = runtime::RequestHash(*request);
        ASSIGN_OR_RETURN(
            std::vector<CommittedChange> changes,
            store_.Write("api", caller.principal, [&](WriteTx& tx) -> absl::Status {
              if (!request->request_id().empty()) {
                ASSIGN_OR_RETURN(
                    std::optional<std::string> stored,
                    tx.FindRequest(request->request_id(), "ClosePractice", request_hash));
                if (stored) {
                  if (!response->ParseFromString(*stored))
                    return runtime::Internal("stored response");
                  return absl::OkStatus();
                }
              }
              ASSIGN_OR_RETURN(std::optional<v1::Practice> existing, tx.LoadPractice(code));
              if (!existing) return runtime::NotFound("Practice", request->name());
              RETURN_IF_ERROR(CheckEtag(*existing, request->etag(), "etag"));
              if (existing->status() == v1::Practice::STATUS_CLOSED) {
                return runtime::FailedPrecondition("STATE", request->name(), "already closed");
              }
              if (close_date < existing->open_date()) {
                return runtime::InvalidArgument("close_date", "before the practice opened");
              }
              v1::Practice updated = *existing;
              if (successor_code) {
                ASSIGN_OR_RETURN(std::optional<v1::Practice> successor,
                                 tx.LoadPractice(*successor_code));
                if (!successor) {
                  return runtime::FailedPrecondition("SUCCESSOR", request->successor(),
                                                     "the successor practice does not exist");
                }
                if (successor->status() == v1::Practice::STATUS_CLOSED) {
                  return runtime::FailedPrecondition("SUCCESSOR", request->successor(),
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
              if (!request->request_id().empty()) {
                RETURN_IF_ERROR(tx.SaveRequest(request->request_id(), "ClosePractice", request_hash,
                                               response->SerializeAsString()));
              }
              return absl::OkStatus();
            }));
        AfterCommit(changes);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListPracticeRevisions(
    grpc::CallbackServerContext* context, const v1::ListPracticeRevisionsRequest* request,
    v1::ListPracticeRevisionsResponse* response) {
  return runtime::Unary(gate_, context, *request, response, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(CheckRequestText(*request));
    ASSIGN_OR_RETURN(std::string code, PracticeCode(request->name(), "name"));
    ASSIGN_OR_RETURN(int page_size, runtime::EffectivePageSize(request->page_size(),
                                                               kDefaultPracticePage, kMaxPage));
    ASSIGN_OR_RETURN(std::optional<v1::Practice> practice, store_.GetPractice(code));
    if (!practice) return runtime::NotFound("Practice", request->name());
    const std::string fingerprint = absl::StrCat("ListPracticeRevisions:", code);
    int64_t before = INT64_MAX;
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(std::string position, tokens_.Decode(fingerprint, request->page_token()));
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
  });
}

// ---- localities, clusters, summary ----

grpc::ServerUnaryReactor* RegistryServiceImpl::GetLocality(grpc::CallbackServerContext* context,
                                                           const v1::GetLocalityRequest* request,
                                                           v1::Locality* response) {
  return runtime::Unary(gate_, context, *request, response, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(CheckRequestText(*request));
    ASSIGN_OR_RETURN(std::string id, SlugFrom(request->name(), "localities", "name"));
    const uint64_t generation = cache_.generation();
    ASSIGN_OR_RETURN(std::vector<v1::Locality> localities, store_.Localities(""));
    for (v1::Locality& l : localities) {
      if (l.name() == request->name()) {
        cache_.FillShared(cache_keys::Locality(id), l, generation);
        *response = std::move(l);
        return absl::OkStatus();
      }
    }
    return runtime::NotFound("Locality", request->name());
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListLocalities(
    grpc::CallbackServerContext* context, const v1::ListLocalitiesRequest* request,
    v1::ListLocalitiesResponse* response) {
  return runtime::Unary(gate_, context, *request, response, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(CheckRequestText(*request));
    ASSIGN_OR_RETURN(int page_size,
                     runtime::EffectivePageSize(request->page_size(), kDefaultPage, kMaxPage));
    std::string cluster_id;
    if (!request->cluster().empty()) {
      ASSIGN_OR_RETURN(cluster_id, SlugFrom(request->cluster(), "clusters", "cluster"));
      ASSIGN_OR_RETURN(bool exists, store_.ClusterExists(cluster_id));
      if (!exists) return runtime::NotFound("Cluster", request->cluster());
    }
    const std::string fingerprint = absl::StrCat("ListLocalities:", cluster_id);
    std::string after;
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(after, tokens_.Decode(fingerprint, request->page_token()));
    }
    const uint64_t generation = cache_.generation();
    ASSIGN_OR_RETURN(std::vector<v1::Locality> localities, store_.Localities(cluster_id));
    const bool whole =
        cluster_id.empty() && after.empty() && static_cast<int>(localities.size()) <= page_size;
    for (v1::Locality& l : localities) {
      if (!after.empty() && l.name() <= after) continue;
      if (response->localities_size() == page_size) {
        response->set_next_page_token(
            tokens_.Encode(fingerprint, response->localities().rbegin()->name()));
        break;
      }
      *response->add_localities() = std::move(l);
    }
    if (whole) cache_.FillShared(cache_keys::AllLocalities(), *response, generation);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetCluster(grpc::CallbackServerContext* context,
                                                          const v1::GetClusterRequest* request,
                                                          v1::Cluster* response) {
  return runtime::Unary(gate_, context, *request, response, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(CheckRequestText(*request));
    ASSIGN_OR_RETURN(std::string id, SlugFrom(request->name(), "clusters", "name"));
    const uint64_t generation = cache_.generation();
    ASSIGN_OR_RETURN(std::vector<v1::Cluster> clusters, store_.Clusters());
    for (v1::Cluster& c : clusters) {
      if (c.name() == request->name()) {
        cache_.FillShared(cache_keys::Cluster(id), c, generation);
        *response = std::move(c);
        return absl::OkStatus();
      }
    }
    return runtime::NotFound("Cluster", request->name());
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListClusters(grpc::CallbackServerContext* context,
                                                            const v1::ListClustersRequest* request,
                                                            v1::ListClustersResponse* response) {
  return runtime::Unary(gate_, context, *request, response, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(CheckRequestText(*request));
    ASSIGN_OR_RETURN(int page_size,
                     runtime::EffectivePageSize(request->page_size(), kDefaultPage, kMaxPage));
    const std::string fingerprint = "ListClusters";
    std::string after;
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(after, tokens_.Decode(fingerprint, request->page_token()));
    }
    const uint64_t generation = cache_.generation();
    ASSIGN_OR_RETURN(std::vector<v1::Cluster> clusters, store_.Clusters());
    const bool whole = after.empty() && static_cast<int>(clusters.size()) <= page_size;
    for (v1::Cluster& c : clusters) {
      if (!after.empty() && c.name() <= after) continue;
      if (response->clusters_size() == page_size) {
        response->set_next_page_token(
            tokens_.Encode(fingerprint, response->clusters().rbegin()->name()));
        break;
      }
      *response->add_clusters() = std::move(c);
    }
    if (whole) cache_.FillShared(cache_keys::AllClusters(), *response, generation);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetAreaSummary(
    grpc::CallbackServerContext* context, const v1::GetAreaSummaryRequest* request,
    v1::AreaSummary* response) {
  return runtime::Unary(gate_, context, *request, response, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(CheckRequestText(*request));
    std::string code(kDorsetCommissioner);
    if (!request->name().empty()) {
      std::optional<std::string> id = IdFromName(request->name(), "governingBodies");
      if (!id || !IsOrganisationCode(*id)) {
        return runtime::InvalidArgument("name",
                                        "must be governingBodies/{ods_code}, e.g. "
                                        "governingBodies/11J");
      }
      code = *id;
    }
    const uint64_t generation = cache_.generation();
    bool found = false;
    ASSIGN_OR_RETURN(v1::AreaSummary summary, store_.Summary(code, &found));
    if (!found && code != kDorsetCommissioner) {
      return runtime::NotFound("GoverningBody", absl::StrCat("governingBodies/", code));
    }
    v1::GoverningBody* body = summary.mutable_governing_body();
    body->set_name(absl::StrCat("governingBodies/", code));
    body->set_ods_code(code);
    if (code == kDorsetCommissioner) {
      body->set_display_name("NHS Dorset");
      body->set_icb("QVV");
    } else {
      body->set_display_name(code);
    }
    cache_.FillShared(cache_keys::Summary(code), summary, generation);
    *response = std::move(summary);
    return absl::OkStatus();
  });
}

// ---- change feed ----

grpc::ServerUnaryReactor* RegistryServiceImpl::ListChanges(grpc::CallbackServerContext* context,
                                                           const v1::ListChangesRequest* request,
                                                           v1::ListChangesResponse* response) {
  return runtime::Unary(gate_, context, *request, response, [&](const Caller&) -> absl::Status {
    RETURN_IF_ERROR(CheckRequestText(*request));
    if (request->after_sequence() < 0) {
      return runtime::InvalidArgument("after_sequence", "must not be negative");
    }
    ASSIGN_OR_RETURN(int page_size,
                     runtime::EffectivePageSize(request->page_size(), kDefaultPage, kMaxPage));
    const std::string fingerprint = absl::StrCat("ListChanges:", request->after_sequence());
    int64_t after = request->after_sequence();
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(std::string position, tokens_.Decode(fingerprint, request->page_token()));
      if (!absl::SimpleAtoi(position, &after)) {
        return runtime::InvalidArgument("page_token", "not a token of this query");
      }
    }
    // Latest first: every change listed below is then <= latest_sequence.
    ASSIGN_OR_RETURN(int64_t latest, store_.LatestSequence());
    ASSIGN_OR_RETURN(std::vector<v1::Change> changes, store_.ChangesAfter(after, page_size));
    for (auto& c : changes) {
      if (c.sequence() > latest) break;
      *response->add_changes() = std::move(c);
    }
    response->set_latest_sequence(latest);
    if (response->changes_size() == page_size &&
        response->changes().rbegin()->sequence() < latest) {
      response->set_next_page_token(
          tokens_.Encode(fingerprint, absl::StrCat(response->changes().rbegin()->sequence())));
    }
    return absl::OkStatus();
  });
}

// Streams the backlog after the resume point, then each change as it commits. Reads go to
// the change table (never to the notification), so there is no gap; the cursor only moves
// forward, so there is no duplicate.
class RegistryServiceImpl::WatchReactor final : public runtime::StreamWriter<v1::Change>,
                                                public ChangeWatcher {
 public:
  // StreamWriter ends the stream correctly on cancel, shutdown and errors (runtime/server).
  WatchReactor(Store& store, ChangeHub& hub, int64_t after)
      : store_(store), hub_(hub), cursor_(after) {
    // Register before taking mu_: the hub locks its own mutex, then a watcher's (in Wake), so
    // a watcher never takes the hub's while holding its own.
    registered_ = hub_.Add(this);
    if (!registered_) {
      End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the registry is shutting down"));
      return;
    }
    Resume();
  }

  void Wake() override { Resume(); }

  void EndForShutdown() override {
    End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                     "the registry is shutting down; resume after the last sequence"));
  }

 private:
  void ProduceLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (next_ >= batch_.size()) {
      absl::StatusOr<std::vector<v1::Change>> changes = store_.ChangesAfter(cursor_, kWatchBatch);
      if (!changes.ok()) {
        EndLocked(runtime::ToGrpcStatus(changes.status()));
        return;
      }
      batch_ = *std::move(changes);
      next_ = 0;
      if (batch_.empty()) return;  // the next Wake() reads again
    }
    const v1::Change& change = batch_[next_++];
    cursor_ = change.sequence();
    WriteLocked(&change);
  }

  void OnClosed() override {
    if (registered_) hub_.Remove(this);
  }

  Store& store_;
  ChangeHub& hub_;
  bool registered_ = true;
  int64_t cursor_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::Change> batch_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

grpc::ServerWriteReactor<v1::Change>* RegistryServiceImpl::WatchChanges(
    grpc::CallbackServerContext* context, const v1::WatchChangesRequest* request) {
  absl::StatusOr<Caller> caller = gate_.Admit(*context);
  if (!caller.ok()) return runtime::RefusedStream<v1::Change>::Create(caller.status());
  if (request->after_sequence() < 0) {
    return runtime::RefusedStream<v1::Change>::Create(
        runtime::InvalidArgument("after_sequence", "must not be negative"));
  }
  return new WatchReactor(store_, hub_, request->after_sequence());
}

// ---- import: see import_call.cc ----

}  // namespace dorset::registry
