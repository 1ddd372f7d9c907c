// A reply that the logic writes as wire bytes itself (issue 16): e.g. a page assembled from
// bytes kept per row, without building the message. `bytes` must be exactly what serialising a
// `Message` would give (tests compare them); runtime::CachedUnary (cached_unary.h) sends and
// keeps them as they are. Declare the logic as taking `SerializedReply<Message>*` for its reply.
#ifndef DORSET_RUNTIME_SERVER_SERIALIZED_REPLY_H_
#define DORSET_RUNTIME_SERVER_SERIALIZED_REPLY_H_

#include <string>
#include <type_traits>

#include "google/protobuf/descriptor.h"

namespace dorset::runtime {

template <typename Message>
struct SerializedReply {
  using Type = Message;
  static const google::protobuf::Descriptor* descriptor() { return Message::descriptor(); }
  std::string bytes;
};

template <typename T>
struct IsSerializedReply : std::false_type {};
template <typename Message>
struct IsSerializedReply<SerializedReply<Message>> : std::true_type {};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_SERVER_SERIALIZED_REPLY_H_
