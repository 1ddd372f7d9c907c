// The OpenAPI 3.1 document of the gateway, generated at start from the route table and the
// descriptors (never written by hand). Descriptions come from the proto comments, read from a
// descriptor set built with source info (protoc --include_source_info) embedded in the binary.
#ifndef DORSET_GATEWAY_OPENAPI_H_
#define DORSET_GATEWAY_OPENAPI_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "gateway/routes.h"

namespace dorset::gateway {

// `descriptor_set` is a serialized google.protobuf.FileDescriptorSet with source info (may be
// empty: then descriptions fall back to the method names). The document is JSON.
absl::StatusOr<std::string> BuildOpenApi(const RouteTable& routes, std::string_view descriptor_set,
                                         std::string_view title);

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_OPENAPI_H_
