#include "runtime/api/reply_budget.h"

#include <algorithm>

namespace dorset::runtime {
namespace {

// A repeated message field's framing: one tag byte (fields 1-15) and a length varint of at
// most five bytes.
constexpr size_t kItemFraming = 6;

}  // namespace

size_t ReplyByteBudget(int max_message_bytes) {
  const size_t limit =
      std::min(static_cast<size_t>(std::max(max_message_bytes, 1)), kDefaultClientReceiveBytes);
  return limit / 4 * 3;
}

bool ReplyBudget::Take(const google::protobuf::Message& item) {
  const size_t cost = item.ByteSizeLong() + kItemFraming;
  if (any_ && used_ + cost > max_bytes_) return false;
  used_ += cost;
  any_ = true;
  return true;
}

}  // namespace dorset::runtime
