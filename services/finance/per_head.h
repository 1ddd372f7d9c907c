// Figures per registered patient by locality and cluster. Amounts scoped to an area count
// there; amounts scoped to the whole system (or to a cluster, for its localities) are shared
// by registered population. Each figure is computed from exact fractions with 128-bit
// integers and rounded once, half to even, to whole pence: no floating point.
#ifndef DORSET_SERVICES_FINANCE_PER_HEAD_H_
#define DORSET_SERVICES_FINANCE_PER_HEAD_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/finance/v1/finance.pb.h"
#include "dorset/registry/v1/registry.pb.h"

namespace dorset::finance {

// An amount and where it applies ("" system, "localities/x", "clusters/y").
struct ScopedAmount {
  std::string scope;
  int64_t pence = 0;
};

// Populations are each locality's ACTIVE practices' registered patients (closed practices'
// lists move to their successors, so counting them would count people twice); a cluster's
// population is the sum over its localities, the system's the sum over all localities.
// Amounts scoped to an area the registry does not know count in the system row only.
absl::StatusOr<std::vector<v1::AreaFigures>> ComputePerHead(
    const std::vector<registry::v1::Cluster>& clusters,
    const std::vector<registry::v1::Locality>& localities, const std::vector<ScopedAmount>& budget,
    const std::vector<ScopedAmount>& savings);

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_PER_HEAD_H_
