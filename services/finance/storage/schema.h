// The finance store's stored codes. The schema itself is the numbered .sql steps under
// migrations/{sqlite,postgres}/ (compiled in by dorset_migrations, applied by runtime/storage).
#ifndef DORSET_SERVICES_FINANCE_SCHEMA_H_
#define DORSET_SERVICES_FINANCE_SCHEMA_H_

namespace dorset::finance {

// Node kinds and posting kinds as stored (they equal the proto enum numbers).
inline constexpr int kNodePlan = 1;
inline constexpr int kNodeProgramme = 2;
inline constexpr int kNodeScheme = 3;
inline constexpr int kSchemeOpen = 1;
inline constexpr int kSchemeClosed = 2;
inline constexpr int kKindPlan = 1;
inline constexpr int kKindActual = 2;
inline constexpr int kKindForecast = 3;

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_SCHEMA_H_
