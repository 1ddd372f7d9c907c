// The one rule for `request_id` in every service (AIP-155): a request carrying an id the
// service has seen before is answered with the first call's result when it is the *same*
// request, and refused with ALREADY_EXISTS (ErrorInfo reason REQUEST_ID_REUSED) when it is a
// different one. Each service stores a fingerprint of the request with the id, in the same
// transaction as the change, and compares it here on a retry:
//
//   RETURN_IF_ERROR(CheckRequestId(request.request_id()));
//   const std::string hash = RequestHash(request);
//   ... stored = (SELECT hash FROM request WHERE id = ?) ...
//   if (stored) { RETURN_IF_ERROR(CheckReplay(*stored, hash)); return first result; }
#ifndef DORSET_RUNTIME_API_REQUEST_ID_H_
#define DORSET_RUNTIME_API_REQUEST_ID_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace dorset::runtime {

inline constexpr size_t kMaxRequestIdBytes = 128;
// The ErrorInfo reason of a request_id reused for a different request.
inline constexpr std::string_view kRequestIdReused = "REQUEST_ID_REUSED";

// INVALID_ARGUMENT naming `field` unless the id is at most 128 printable ASCII characters
// without spaces (empty is allowed: "no idempotency asked for").
absl::Status CheckRequestId(std::string_view request_id, std::string_view field = "request_id");

// SHA-256 (hex) of the request's deterministic serialization: equal for a byte-identical retry,
// different when any field differs.
std::string RequestHash(const google::protobuf::Message& request);
// The same over a message followed by a body that travels outside it (an uploaded file), hashed
// without copying the body. Length-prefixed, so no two (message, body) pairs share a hash input.
std::string RequestHash(const google::protobuf::Message& request, std::string_view body);

// RequestHash(request, body) for a body that arrives in pieces (an upload's chunks):
//   RequestHasher h(options); for (chunk) h.AddBody(chunk); std::string hash = h.Finish();
class RequestHasher {
 public:
  explicit RequestHasher(const google::protobuf::Message& request);
  ~RequestHasher();
  RequestHasher(const RequestHasher&) = delete;
  RequestHasher& operator=(const RequestHasher&) = delete;

  void AddBody(std::string_view piece);
  // The hex digest; the hasher is spent afterwards.
  std::string Finish();

 private:
  struct Digest;
  std::unique_ptr<Digest> digest_;
};

// The refusal for a request_id already used for a different request (ALREADY_EXISTS, reason
// REQUEST_ID_REUSED). Names the field, never its value.
absl::Status RequestIdReused(std::string_view field = "request_id");

// OK when `hash` is the one stored with the id (a retry: answer with the first result);
// RequestIdReused otherwise. A stored hash of "" was recorded before fingerprints were kept and
// cannot be compared: it is answered as a retry, as it was then.
absl::Status CheckReplay(std::string_view stored_hash, std::string_view hash,
                         std::string_view field = "request_id");

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_API_REQUEST_ID_H_
