// The method -> permission table for all services. Each service's section is kept in the
// order of its proto. A method missing here is refused.
#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "runtime/auth/permissions.h"

namespace dorset::runtime {
namespace {

using P = Permission;

const absl::flat_hash_map<std::string_view, Permission>& Table() {
  static const auto* table = new absl::flat_hash_map<std::string_view, Permission>{
      // Health and reflection: open when ServerConfig::open_health (checked by the gate).
      {"/grpc.health.v1.Health/Check", P::kPublic},
      {"/grpc.health.v1.Health/Watch", P::kPublic},
      {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", P::kPublic},

      // Every service's audit trail (served by the runtime).
      {"/dorset.common.v1.AuditService/ListAuditEvents", P::kAuditRead},

      // Benchmark baseline.
      {"/dorset.bench.v1.EchoService/Echo", P::kPublic},

      // --- dorset.registry.v1 (section owned by the registry service) ---
      {"/dorset.registry.v1.RegistryService/GetPractice", P::kRegistryRead},
      {"/dorset.registry.v1.RegistryService/ListPractices", P::kRegistryRead},
      {"/dorset.registry.v1.RegistryService/CreatePractice", P::kRegistryWrite},
      {"/dorset.registry.v1.RegistryService/UpdatePractice", P::kRegistryWrite},
      {"/dorset.registry.v1.RegistryService/ClosePractice", P::kRegistryWrite},
      {"/dorset.registry.v1.RegistryService/ListPracticeRevisions", P::kRegistryRead},
      {"/dorset.registry.v1.RegistryService/GetLocality", P::kRegistryRead},
      {"/dorset.registry.v1.RegistryService/ListLocalities", P::kRegistryRead},
      {"/dorset.registry.v1.RegistryService/GetCluster", P::kRegistryRead},
      {"/dorset.registry.v1.RegistryService/ListClusters", P::kRegistryRead},
      {"/dorset.registry.v1.RegistryService/GetAreaSummary", P::kRegistryRead},
      {"/dorset.registry.v1.RegistryService/ListChanges", P::kRegistryRead},
      {"/dorset.registry.v1.RegistryService/WatchChanges", P::kRegistryRead},
      {"/dorset.registry.v1.RegistryService/ImportFile", P::kRegistryWrite},
      // --- end registry ---

      // --- dorset.finance.v1 (section owned by the finance service) ---
      {"/dorset.finance.v1.FinanceService/CreatePlan", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/GetPlan", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/ListPlans", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/CreateProgramme", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/GetProgramme", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/ListProgrammes", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/CreateScheme", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/GetScheme", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/ListSchemes", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/UpdateScheme", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/CloseScheme", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/CreateBudgetLine", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/GetBudgetLine", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/ListBudgetLines", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/UpdateBudgetLine", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/CreatePosting", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/BatchCreatePostings", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/GetPosting", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/ListPostings", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/GetReport", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/GetGapTrajectory", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/GetPerHeadFigures", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/GetPeriod", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/ListPeriods", P::kFinanceRead},
      {"/dorset.finance.v1.FinanceService/StartPeriodClose", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/ClosePeriod", P::kFinanceWrite},
      {"/dorset.finance.v1.FinanceService/ReopenPeriod", P::kFinanceAdmin},
      {"/dorset.finance.v1.FinanceService/VerifyLedger", P::kFinanceRead},
      // --- end finance ---

      // --- dorset.engagement.v1 (section owned by the engagement service) ---
      // Reads redact personal data unless the caller also holds kPersonalDataRead.
      {"/dorset.engagement.v1.EngagementService/CreateStakeholder", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/GetStakeholder", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/ListStakeholders", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/UpdateStakeholder", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/EraseStakeholder", P::kPersonalDataErase},
      {"/dorset.engagement.v1.EngagementService/CreateActivity", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/GetActivity", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/ListActivities", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/UpdateActivity", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/OpenActivity", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/CloseActivity", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/PublishOutcome", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/DeleteActivity", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/CreateTheme", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/GetTheme", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/ListThemes", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/UpdateTheme", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/DeleteTheme", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/CreateResponse", P::kEngagementRespond},
      {"/dorset.engagement.v1.EngagementService/GetResponse", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/ListResponses", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/UpdateResponse", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/ExportResponses", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/CreateDecision", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/GetDecision", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/ListDecisions", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/UpdateDecision", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/DeleteDecision", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/GetActivityAggregates", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/GetYouSaidWeDid", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/UpdateDecisionDelivery", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/ListDeliveryChanges", P::kEngagementRead},
      // Who is about to be erased is for those who erase.
      {"/dorset.engagement.v1.EngagementService/PreviewRetention", P::kPersonalDataErase},
      {"/dorset.engagement.v1.EngagementService/RunRetention", P::kPersonalDataErase},
      {"/dorset.engagement.v1.EngagementService/ExportCsv", P::kEngagementRead},
      {"/dorset.engagement.v1.EngagementService/GetConsultationReport", P::kEngagementRead},
      // Keyword rules probe response text, so previewing them is for coders, not readers.
      {"/dorset.engagement.v1.EngagementService/PreviewThemeCoding", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/ApplyThemeCoding", P::kEngagementWrite},
      {"/dorset.engagement.v1.EngagementService/ListThemeCodings", P::kEngagementRead},
      // --- end engagement ---
  };
  return *table;
}

}  // namespace

std::optional<Permission> RequiredPermission(std::string_view full_method) {
  const auto& table = Table();
  auto it = table.find(full_method);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> TableMethods() {
  std::vector<std::string> methods;
  for (const auto& [method, permission] : Table()) methods.emplace_back(method);
  std::sort(methods.begin(), methods.end());
  return methods;
}

}  // namespace dorset::runtime
