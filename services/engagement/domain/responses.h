// Responses (responses.cc): checked for form and against the registry before they reach the
// group-commit writer (PrepareResponse), then checked against the store and written with their
// counters inside the writer's transaction (CommitResponse); read, listed and paged with the
// caller's redaction; updated under the etag.
#ifndef DORSET_SERVICES_ENGAGEMENT_DOMAIN_RESPONSES_H_
#define DORSET_SERVICES_ENGAGEMENT_DOMAIN_RESPONSES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dorset/engagement/v1/engagement.pb.h"
#include "runtime/auth/caller.h"
#include "services/engagement/domain/engagement_context.h"
#include "services/engagement/domain/registry_lookup.h"
#include "services/engagement/storage/response_batch.h"

namespace dorset::engagement {

// A response checked for form and against the registry, ready to be written by the group-commit
// writer (which checks the rest against the store inside its transaction).
struct PendingResponse {
  std::string activity;  // id
  // The request_id ("" when the client sent none), "CreateResponse", the caller (the request_id
  // is theirs: runtime/storage/idempotency.h) and the RequestHash of the CreateResponseRequest:
  // made once here, not copied by the writer for every response.
  ResponseBatch::RequestKey request;
  v1::Response response;       // normalised: locality resolved, names checked
  std::string stakeholder_id;  // "" when anonymous
  std::vector<std::string> theme_ids;
  // The response's time: when the server received it. Every time rule (the practice open on
  // its day, the activity's window) is judged at this instant, and it is the create_time.
  absl::Time time;
  // OK when response.practice is empty or one of the commissioner's practices open on the day
  // of `time`; otherwise the INVALID_ARGUMENT to answer unless the activity lists the practice
  // in allowed_practices (checked by the writer, which reads the activity).
  absl::Status practice_refusal;
};

class Responses {
 public:
  explicit Responses(EngagementContext& ctx) : ctx_(ctx) {}

  // CreateResponse is PrepareResponse (no store access; registry checks) followed by
  // CommitResponse inside a write transaction (the group committer batches many).
  absl::StatusOr<PendingResponse> PrepareResponse(const runtime::Caller& caller,
                                                  const v1::CreateResponseRequest& request);
  // The response is written as a part of the batch's transaction: the value is its
  // own outcome (a refused one leaves nothing and does not sink the others). An error fails the
  // whole group (a serialization failure, deadlock or lost connection): returned from the
  // group's function, it runs the group again as a whole or refuses it, never swallowed per
  // response. Its counter cells are summed into the batch (written once before the commit).
  // A response it writes gets in `out` only what the writer decides (name, stakeholder, times,
  // etag) and `*created` true: the rest of the reply is the pending response, moved in by
  // CompleteCreated after the commit (on the finishing thread, not the writer's: copying it there
  // cost the writer ~3.3k instructions a response). A retry of a request_id gets its whole
  // stored response in `out` and `*created` false.
  absl::StatusOr<absl::Status> CommitResponse(const PendingResponse& pending, v1::Response* out,
                                              ResponseBatch& batch, bool* created);
  // The reply of a response CommitResponse wrote (`out` as it left it): `given` (the pending
  // response, no longer needed) with the writer's fields.
  static void CompleteCreated(v1::Response&& given, v1::Response* out);
  absl::Status GetResponse(const runtime::Caller& caller, const v1::GetResponseRequest& request,
                           v1::Response* out);
  absl::Status ListResponses(const runtime::Caller& caller, const v1::ListResponsesRequest& request,
                             v1::ListResponsesResponse* out);
  absl::Status UpdateResponse(const runtime::Caller& caller,
                              const v1::UpdateResponseRequest& request, v1::Response* out);
  // One page of an activity's responses after response id `after`, redacted for `caller`: at
  // most `limit` of them and at most `options.reply_bytes` (at least one). `more` says whether
  // responses remain after the page.
  struct ResponsePage {
    std::vector<v1::Response> responses;
    bool more = false;
  };
  absl::StatusOr<ResponsePage> ResponsesAfter(const runtime::Caller& caller,
                                              const std::string& activity, int64_t after,
                                              int limit);

  // Personal data (the stakeholder, unconsented text) only for callers with
  // Permission::kPersonalDataRead (noted as read).
  static void RedactResponse(const runtime::Caller& caller, v1::Response& response);

 private:
  absl::Status WriteResponse(const PendingResponse& pending, v1::Response* out,
                             ResponseBatch& batch, bool* created);
  // INVALID_ARGUMENT (response.practice) unless `practice` is one of options.commissioner's and
  // open on the day of `at` (the response's time, never the time of a later check).
  absl::Status CheckPracticeCovered(const PracticeFacts& practice, absl::Time at) const;

  EngagementContext& ctx_;
};

}  // namespace dorset::engagement

#endif  // DORSET_SERVICES_ENGAGEMENT_DOMAIN_RESPONSES_H_
