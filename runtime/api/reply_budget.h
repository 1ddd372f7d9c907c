// How many bytes of items one reply may carry: a List page or one message of a stream ends
// early, with a next_page_token / another message, rather than grow past what gRPC will send
// ("Sent message larger than max") or the client will accept. Pages are sized by count (the
// caller's page_size) *and* by bytes.
//
//   ReplyBudget budget(options.reply_bytes);         // from ReplyByteBudget(max_message_bytes)
//   for (each row) {
//     Item item = FromRow(row);
//     if (!budget.Take(item)) break;                  // the page ends before this row
//     add(item);
//   }
#ifndef DORSET_RUNTIME_API_REPLY_BUDGET_H_
#define DORSET_RUNTIME_API_REPLY_BUDGET_H_

#include <cstddef>

#include "google/protobuf/message.h"

namespace dorset::runtime {

// gRPC's default limit on a received message: what a client accepts unless it raised it.
inline constexpr size_t kDefaultClientReceiveBytes = 4 * 1024 * 1024;

// The item bytes one reply may carry for a server configured with `max_message_bytes`: three
// quarters of the smaller of that and gRPC's default client receive limit, leaving a quarter for
// the reply's other fields (page token, counts) and the framing of each item.
size_t ReplyByteBudget(int max_message_bytes);

class ReplyBudget {
 public:
  explicit ReplyBudget(size_t max_bytes) : max_bytes_(max_bytes) {}

  // True when `item` may join the reply, and counts it: when it fits the bytes left, or when
  // it is the first item (a page always makes progress; a single item is bounded by the
  // service's own field limits, far below the message limit).
  bool Take(const google::protobuf::Message& item);
  size_t used() const { return used_; }

 private:
  size_t max_bytes_;
  size_t used_ = 0;
  bool any_ = false;
};

}  // namespace dorset::runtime

#endif  // DORSET_RUNTIME_API_REPLY_BUDGET_H_
