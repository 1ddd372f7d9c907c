// The one etag format of every Dorset resource (issue 12): the HTTP weak validator of the
// resource's stored revision, `W/"<revision>"` (e.g. `W/"7"`), so the same string can serve as
// an HTTP ETag at a gateway. A revision is a positive 64-bit integer kept in the row and raised
// by every change. Services build etags with Etag() and check a caller's with CheckEtag(); the
// revision is never parsed out of any other spelling.
//
//   RETURN_IF_ERROR(CheckEtag(request.etag(), row.revision, "Scheme", row.name, "etag"));
//   out.set_etag(Etag(row.revision + 1));
#ifndef DORSET_RUNTIME_STORAGE_ETAG_H_
#define DORSET_RUNTIME_STORAGE_ETAG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dorset::runtime::storage {

// `W/"<revision>"`.
std::string Etag(int64_t revision);

// The revision an etag names, or INVALID_ARGUMENT naming `field` when `etag` is not of the
// form W/"<positive integer>" (e.g. an etag of an older release, `r7` or `7`).
absl::StatusOr<int64_t> ParseEtag(std::string_view etag, std::string_view field = "etag");

// For a conditional change (AIP-154): OK when `given` is empty (unconditional) or names
// `current_revision`; ABORTED (ETAG_MISMATCH naming the resource, runtime/status/errors.h) when
// it names another revision, i.e. the caller read a state that has changed since; INVALID_ARGUMENT
// naming `field` when it is not an etag at all.
absl::Status CheckEtag(std::string_view given, int64_t current_revision,
                       std::string_view resource_type, std::string_view resource_name,
                       std::string_view field = "etag");

}  // namespace dorset::runtime::storage

#endif  // DORSET_RUNTIME_STORAGE_ETAG_H_
