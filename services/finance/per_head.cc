#include "services/finance/per_head.h"

#include <map>

#include "absl/container/flat_hash_map.h"
#include "runtime/status/status_macros.h"
#include "services/finance/money/money.h"

namespace dorset::finance {
namespace {

using Wide = __int128;

// The amounts of one measure by where they are scoped.
struct Pools {
  Wide system = 0;
  Wide total = 0;  // everything, including scopes the registry does not know
  absl::flat_hash_map<std::string, Wide> cluster;
  absl::flat_hash_map<std::string, Wide> locality;
};

Pools Gather(const std::vector<ScopedAmount>& amounts) {
  Pools pools;
  for (const ScopedAmount& a : amounts) {
    pools.total += a.pence;
    if (a.scope.empty()) {
      pools.system += a.pence;
    } else if (a.scope.rfind("clusters/", 0) == 0) {
      pools.cluster[a.scope] += a.pence;
    } else {
      pools.locality[a.scope] += a.pence;
    }
  }
  return pools;
}

Wide Lookup(const absl::flat_hash_map<std::string, Wide>& map, const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? 0 : it->second;
}

// An exact amount num/den (den > 0) and the same per head.
struct Exact {
  Wide num = 0;
  Wide den = 1;
};

absl::Status Fill(const Exact& amount, int64_t population, dorset::common::v1::Money* total,
                  dorset::common::v1::Money* per_head) {
  ASSIGN_OR_RETURN(int64_t rounded, money::DivideHalfEven(amount.num, amount.den));
  total->set_pence(rounded);
  if (population <= 0) {
    per_head->set_pence(0);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(int64_t head, money::DivideHalfEven(amount.num, amount.den * population));
  per_head->set_pence(head);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<v1::AreaFigures>> ComputePerHead(
    const std::vector<registry::v1::Cluster>& clusters,
    const std::vector<registry::v1::Locality>& localities, const std::vector<ScopedAmount>& budget,
    const std::vector<ScopedAmount>& savings) {
  const Pools pools[2] = {Gather(budget), Gather(savings)};

  std::map<std::string, std::vector<const registry::v1::Locality*>> by_cluster;
  absl::flat_hash_map<std::string, int64_t> cluster_population;
  int64_t system_population = 0;
  for (const registry::v1::Locality& locality : localities) {
    by_cluster[locality.cluster()].push_back(&locality);
    const int64_t patients = locality.active_registered_patients();
    cluster_population[locality.cluster()] += patients;
    system_population += patients;
  }

  // Amount of measure `i` for a cluster: its own pool, its localities' pools, and its
  // population share of the system pool. Over the common denominator pop_T.
  const auto cluster_amount = [&](int i, const std::string& cluster) {
    const Pools& p = pools[i];
    Wide own = Lookup(p.cluster, cluster);
    for (const auto* l : by_cluster[cluster]) own += Lookup(p.locality, l->name());
    if (system_population <= 0) return Exact{own, 1};
    return Exact{own * system_population + p.system * cluster_population[cluster],
                 system_population};
  };
  // A locality: its own pool, its share of its cluster's pool and of the system pool. Over
  // pop_C * pop_T (a zero population contributes no share).
  const auto locality_amount = [&](int i, const registry::v1::Locality& l) {
    const Pools& p = pools[i];
    const Wide pop_l = l.active_registered_patients();
    const Wide pop_c = cluster_population[l.cluster()];
    const Wide pop_t = system_population;
    const Wide den_c = pop_c > 0 ? pop_c : 1;
    const Wide den_t = pop_t > 0 ? pop_t : 1;
    Wide num = Lookup(p.locality, l.name()) * den_c * den_t;
    if (pop_c > 0) num += Lookup(p.cluster, l.cluster()) * pop_l * den_t;
    if (pop_t > 0) num += p.system * pop_l * den_c;
    return Exact{num, den_c * den_t};
  };

  std::vector<v1::AreaFigures> out;
  {
    v1::AreaFigures& system = out.emplace_back();
    system.set_area_kind(v1::AreaFigures::AREA_KIND_SYSTEM);
    system.set_display_name("Whole system");
    system.set_registered_patients(system_population);
    RETURN_IF_ERROR(Fill(Exact{pools[0].total, 1}, system_population, system.mutable_budget(),
                         system.mutable_budget_per_head()));
    RETURN_IF_ERROR(Fill(Exact{pools[1].total, 1}, system_population,
                         system.mutable_savings_target(),
                         system.mutable_savings_target_per_head()));
  }
  std::map<std::string, const registry::v1::Cluster*> known_clusters;
  for (const registry::v1::Cluster& c : clusters) known_clusters[c.name()] = &c;
  for (auto& [cluster_name, members] : by_cluster) {
    auto known = known_clusters.find(cluster_name);
    v1::AreaFigures& cluster = out.emplace_back();
    cluster.set_area_kind(v1::AreaFigures::AREA_KIND_CLUSTER);
    cluster.set_area(cluster_name);
    cluster.set_display_name(known != known_clusters.end() ? known->second->display_name() : "");
    cluster.set_registered_patients(cluster_population[cluster_name]);
    RETURN_IF_ERROR(Fill(cluster_amount(0, cluster_name), cluster_population[cluster_name],
                         cluster.mutable_budget(), cluster.mutable_budget_per_head()));
    RETURN_IF_ERROR(Fill(cluster_amount(1, cluster_name), cluster_population[cluster_name],
                         cluster.mutable_savings_target(),
                         cluster.mutable_savings_target_per_head()));
    std::sort(members.begin(), members.end(),
              [](const auto* a, const auto* b) { return a->name() < b->name(); });
    for (const registry::v1::Locality* l : members) {
      v1::AreaFigures& locality = out.emplace_back();
      locality.set_area_kind(v1::AreaFigures::AREA_KIND_LOCALITY);
      locality.set_area(l->name());
      locality.set_display_name(l->display_name());
      locality.set_registered_patients(l->active_registered_patients());
      RETURN_IF_ERROR(Fill(locality_amount(0, *l), l->active_registered_patients(),
                           locality.mutable_budget(), locality.mutable_budget_per_head()));
      RETURN_IF_ERROR(Fill(locality_amount(1, *l), l->active_registered_patients(),
                           locality.mutable_savings_target(),
                           locality.mutable_savings_target_per_head()));
    }
  }
  return out;
}

}  // namespace dorset::finance
