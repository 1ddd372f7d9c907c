#include "runtime/server/cached_unary.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace dorset::runtime {
namespace {

struct RawMethods {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, const google::protobuf::Message*> prototypes ABSL_GUARDED_BY(mu);
};

RawMethods& Raw() {
  static RawMethods* const methods = new RawMethods;  // never destroyed: calls may outlive main
  return *methods;
}

}  // namespace

void RegisterRawMethod(std::string_view method, const google::protobuf::Message& prototype) {
  RawMethods& raw = Raw();
  absl::MutexLock lock(&raw.mu);
  raw.prototypes[std::string(method)] = &prototype;
}

const google::protobuf::Message* RawMethodRequest(std::string_view method) {
  RawMethods& raw = Raw();
  absl::ReaderMutexLock lock(&raw.mu);
  auto it = raw.prototypes.find(absl::string_view(method.data(), method.size()));
  return it == raw.prototypes.end() ? nullptr : it->second;
}

absl::Status ParseRawRequest(const grpc::ByteBuffer& raw, google::protobuf::Message* request) {
  grpc::ByteBuffer copy = raw;  // deserialising consumes the buffer; the copy shares the bytes
  if (!grpc::SerializationTraits<google::protobuf::Message>::Deserialize(&copy, request).ok()) {
    return InvalidArgument("request",
                           "the request message does not parse as this method's protobuf message");
  }
  return absl::OkStatus();
}

std::string ResponseCacheKey(const google::protobuf::Descriptor& request,
                             const google::protobuf::Descriptor& reply,
                             std::string_view reply_class, const grpc::ByteBuffer& raw) {
  std::string key;
  key.reserve(request.full_name().size() + reply.full_name().size() + reply_class.size() +
              raw.Length() + 3);
  key.append(request.full_name()).push_back('\n');
  key.append(reply.full_name()).push_back('\n');
  key.append(reply_class).push_back('\n');
  grpc::Slice single;
  if (raw.TrySingleSlice(&single).ok()) {
    key.append(reinterpret_cast<const char*>(single.begin()), single.size());
  } else {
    std::vector<grpc::Slice> slices;
    if (raw.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        key.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
  }
  return key;
}

namespace cached_unary_internal {

grpc::ByteBuffer OwningByteBuffer(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(), [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace cached_unary_internal

}  // namespace dorset::runtime
