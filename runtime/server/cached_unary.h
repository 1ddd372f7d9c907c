// A unary read served from a VersionedResponseCache (runtime/cache/versioned_response_cache.h)
// through a raw gRPC callback method: a hit hands out the stored bytes (no parsing of the
// request, no work, no serialisation); a miss parses the request, runs the logic as
// runtime::Unary does (unary.h: the same parameter lists), serialises the reply once and keeps
// it. The service declares the method raw (the generated WithRawCallbackMethod_X) and calls:
//
//   grpc::ServerUnaryReactor* GetPractice(grpc::CallbackServerContext* ctx,
//                                         const grpc::ByteBuffer* req,
//                                         grpc::ByteBuffer* resp) override {
//     return runtime::CachedUnary<v1::GetPracticeRequest, v1::Practice>(
//         gate_, ctx, *req, resp, replies_, version, runtime::SameReplyForEveryCaller,
//         std::bind_front(&RegistryDomain::GetPractice, &domain_));
//   }
//
// The caller is admitted first on every call, hit or miss. The key is the request's and reply's
// message types, the caller's class (`reply_class(caller)`: what the caller may see — replies
// that differ by role or redaction MUST differ in class) and the request's bytes. `version()`
// is taken after admission and before the logic runs (see the cache's header for what makes it
// sound); when it fails the call is answered without the cache. A reply is kept only when the
// call succeeded and the logic did not mark personal data read (such calls are audited, so each
// must run). Register the method's request type once, before the host starts serving
// (RegisterRawMethod, e.g. in the service's constructor), so the audit trail's resource is read
// from the raw request. A logic whose reply is a SerializedReply<Message> (serialized_reply.h)
// writes the reply's bytes itself; they are sent and kept as they are.
#ifndef DORSET_RUNTIME_SERVER_CACHED_UNARY_H_
#define DORSET_RUNTIME_SERVER_CACHED_UNARY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/byte_buffer.h"
#include "runtime/cache/versioned_response_cache.h"
#include "runtime/server/serialized_reply.h"
#include "runtime/server/unary.h"
#include "runtime/status/errors.h"

namespace dorset::runtime {

// Declares `method` ("/pkg.Service/Method") raw, with requests of `prototype`'s type: its
// messages are bytes, parsed only for an audit event's resource (unary_call.h).
void RegisterRawMethod(std::string_view method, const google::protobuf::Message& prototype);
// The request prototype of a raw method, or null for a method whose messages are protobufs.
const google::protobuf::Message* RawMethodRequest(std::string_view method);

// For replies that are the same for every admitted caller.
inline std::string_view SameReplyForEveryCaller(const Caller&) { return ""; }

// Parses a raw request; INVALID_ARGUMENT, as a typed method answers one that does not parse.
absl::Status ParseRawRequest(const grpc::ByteBuffer& raw, google::protobuf::Message* request);
// The cache key of a call (see the file comment).
std::string ResponseCacheKey(const google::protobuf::Descriptor& request,
                             const google::protobuf::Descriptor& reply,
                             std::string_view reply_class, const grpc::ByteBuffer& raw);

namespace cached_unary_internal {

// A buffer owning `bytes` (no copy).
grpc::ByteBuffer OwningByteBuffer(std::string bytes);

template <typename Request, typename Reply, typename VersionFn, typename ClassFn, typename Fn>
grpc::ServerUnaryReactor* Serve(CallGate& gate, grpc::CallbackServerContext* context,
                                const std::span<const RepeatedLimit>* limits,
                                const grpc::ByteBuffer& raw_request, grpc::ByteBuffer* raw_reply,
                                VersionedResponseCache& cache, VersionFn& version,
                                ClassFn& reply_class, Fn& fn) {
  // Observed here (unary_call.h): the host wraps every method of its services for it.
  const UnaryHandle call(context, &raw_request);
  absl::StatusOr<Caller> caller = call.Admit(gate);
  if (!caller.ok()) return call.Finish(ToGrpcStatus(caller.status()));
  const absl::StatusOr<uint64_t> at = version();
  std::string key;
  if (at.ok()) {
    key = ResponseCacheKey(*Request::descriptor(), *Reply::descriptor(), reply_class(*caller),
                           raw_request);
    if (std::optional<grpc::ByteBuffer> hit = cache.Get(key, *at)) {
      *raw_reply = *std::move(hit);
      return call.Finish(grpc::Status::OK);
    }
  }
  Request request;
  Reply reply;
  absl::Status status = ParseRawRequest(raw_request, &request);
  if (status.ok() && limits != nullptr) status = CheckRepeatedLimits(request, *limits);
  if (status.ok()) status = unary_internal::Run(*caller, request, &reply, fn);
  if (status.ok()) {
    if constexpr (IsSerializedReply<Reply>::value) {
      *raw_reply = OwningByteBuffer(std::move(reply.bytes));
    } else {
      bool own_buffer = false;
      const grpc::Status serialised =
          grpc::SerializationTraits<Reply>::Serialize(reply, raw_reply, &own_buffer);
      if (!serialised.ok()) return call.Finish(serialised);
    }
    if (at.ok() && !caller->personal_data_was_read()) cache.Put(key, *at, *raw_reply);
  }
  return call.Finish(ToGrpcStatus(status));
}

}  // namespace cached_unary_internal

// Serves a raw unary read from `cache` at `version()` (see the file comment).
template <typename Request, typename Reply, typename VersionFn, typename ClassFn, typename Fn>
grpc::ServerUnaryReactor* CachedUnary(CallGate& gate, grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer& raw_request,
                                      grpc::ByteBuffer* raw_reply, VersionedResponseCache& cache,
                                      VersionFn&& version, ClassFn&& reply_class, Fn&& fn) {
  return cached_unary_internal::Serve<Request, Reply>(gate, context, nullptr, raw_request,
                                                      raw_reply, cache, version, reply_class, fn);
}

// The same for a request with repeated fields, capped by `limits` (repeated_limits.h).
template <typename Request, typename Reply, typename VersionFn, typename ClassFn, typename Fn>
grpc::ServerUnaryReactor* CachedUnary(CallGate& gate, grpc::CallbackServerContext* context,
                                      std::span<const RepeatedLimit> limits,
                                      const grpc::ByteBuffer& raw_request,
                                      grpc::ByteBuffer* raw_reply, VersionedResponseCache& cache,
                                      VersionFn&& version, ClassFn&& reply_class, Fn&& fn) {
  return cached_unary_internal::Serve<Request, Reply>(gate, context, &limits, raw_request,
                                                      raw_reply, cache, version, reply_class, fn);
}

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_CACHED_UNARY_H_
