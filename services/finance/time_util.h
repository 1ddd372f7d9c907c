// Store times (microseconds since the epoch) to and from google.protobuf.Timestamp.
#ifndef DORSET_SERVICES_FINANCE_TIME_UTIL_H_
#define DORSET_SERVICES_FINANCE_TIME_UTIL_H_

#include <cstdint>

#include "google/protobuf/timestamp.pb.h"

namespace dorset::finance {

inline void SetTimestamp(google::protobuf::Timestamp* out, int64_t micros) {
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {  // Timestamp nanos are never negative
    rest += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_TIME_UTIL_H_
