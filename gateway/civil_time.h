// A UTC instant split into its proleptic Gregorian date and time of day, for the gateway's two
// hand-written timestamp writers (json_printer.cc's Timestamp, fhir/organization_map.cc's
// FhirInstant), which format it themselves because absl::FormatTime costs far more per call.
//
//   CivilUtc t = CivilUtcFromUnixSeconds(0);  // {1970, 1, 1, 0, 0, 0}
#ifndef DORSET_GATEWAY_CIVIL_TIME_H_
#define DORSET_GATEWAY_CIVIL_TIME_H_

#include <cstdint>

namespace dorset::gateway {

struct CivilUtc {
  int64_t year, month, day, hour, minute, second;
};

// Days since 1970-01-01 to a civil date (H. Hinnant's civil_from_days); any int64 seconds whose
// year fits the callers' range.
inline CivilUtc CivilUtcFromUnixSeconds(int64_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day, rest / 3600, rest / 60 % 60, rest % 60};
}

}  // namespace dorset::gateway

#endif  // DORSET_GATEWAY_CIVIL_TIME_H_
