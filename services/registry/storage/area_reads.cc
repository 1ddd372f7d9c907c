// The registry store's area reads (store.h): localities, clusters, their populations and
// the summary of a commissioner's area.
#include <map>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "runtime/base/string_view.h"
#include "runtime/logging/log.h"
#include "runtime/status/errors.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/database.h"
#include "runtime/storage/etag.h"
#include "services/registry/closure_policy.h"
#include "services/registry/storage/storage_rows.h"
#include "services/registry/storage/store.h"
#include "services/registry/stored_text.h"
#include "services/registry/text.h"
#include "services/registry/validation.h"

namespace dorset::registry {

using google::protobuf::util::TimeUtil;
using runtime::storage::Database;
using runtime::storage::Engine;
using runtime::storage::Statement;
using runtime::storage::Transaction;
using storage_rows::FromMicros;
using storage_rows::kPracticeColumns;
using storage_rows::ParsePractice;
using storage_rows::ReadChangeRow;
using storage_rows::ReadPracticeRow;
using storage_rows::TextColumn;

namespace {

// Reads every practice (one query) for the population figures (population.h). The message is
// parsed only where its unindexed fields matter: list-size date (practices with a list size),
// successor and close date (closed practices, which may be links of a successor chain).
absl::StatusOr<Populations> LoadPopulations(Transaction& tx) {
  std::map<std::string, PracticeFacts> practices;
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT ods_code, status, COALESCE(locality_id, ''), commissioner, "
                              "prescribing_setting, list_size, CASE WHEN list_size IS NOT NULL OR "
                              "status = 2 THEN data END FROM practice"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    PracticeFacts& f = practices[stmt.Text(0)];
    f.status = static_cast<v1::Practice::Status>(stmt.Int(1));
    f.locality_id = stmt.Text(2);
    f.commissioner = stmt.Text(3);
    f.prescribing_setting = static_cast<int>(stmt.Int(4));
    f.list_size = stmt.OptionalInt(5);
    if (!stmt.IsNull(6)) {
      v1::Practice practice;
      if (!ParseStored(stmt.Blob(6), practice)) {
        // Read paths never fail on one row: its list counts where it is, without a date.
        runtime::log::Error("stored practice unreadable; population without its successor",
                            {{"ods_code", stmt.Text(0)}});
      }
      f.list_size_date = practice.list_size_date();
      if (!practice.successor().empty()) {
        f.successor_code = practice.successor().substr(sizeof("practices/") - 1);
      }
      f.close_date = practice.close_date();
    }
  }
  return Populations::Build(std::move(practices));
}

absl::StatusOr<std::vector<v1::Locality>> LocalitiesOn(Transaction& tx,
                                                       const std::string& cluster_id,
                                                       const Populations& populations) {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT l.id, l.display_name, l.cluster_id, "
                              "COALESCE(SUM(CASE WHEN p.status = 1 THEN 1 ELSE 0 END), 0), "
                              "COUNT(p.ods_code) "
                              "FROM locality l LEFT JOIN practice p ON p.locality_id = l.id "
                              "WHERE ? = '' OR l.cluster_id = ? GROUP BY l.id ORDER BY l.id"));
  stmt.Bind(1, cluster_id).Bind(2, cluster_id);
  std::vector<v1::Locality> localities;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    v1::Locality& l = localities.emplace_back();
    l.set_name(absl::StrCat("localities/", TextColumn(stmt, 0)));
    l.set_display_name(TextColumn(stmt, 1));
    l.set_cluster(absl::StrCat("clusters/", TextColumn(stmt, 2)));
    l.set_practice_count(static_cast<int32_t>(stmt.Int(3)));
    l.set_total_practice_count(static_cast<int32_t>(stmt.Int(4)));
    // Populations follow successors and carry their list-size dates (population.h).
    const PopulationFigures figures = populations.Locality(stmt.Text(0));
    l.set_registered_patients(figures.registered_patients);
    l.set_active_registered_patients(figures.active_registered_patients);
    l.set_patients_from_closed_practices(figures.moved_in_patients);
    *l.mutable_list_sizes() = figures.Vintage();
  }
  return localities;
}

absl::StatusOr<std::vector<v1::Cluster>> ClustersOn(Transaction& tx,
                                                    const Populations& populations) {
  ASSIGN_OR_RETURN(std::vector<v1::Locality> localities, LocalitiesOn(tx, "", populations));
  std::map<std::string, PopulationFigures> figures;
  ASSIGN_OR_RETURN(Statement stmt, tx.Prepare("SELECT id, display_name FROM cluster ORDER BY id"));
  std::vector<v1::Cluster> clusters;
  std::map<std::string, size_t> index;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    v1::Cluster& c = clusters.emplace_back();
    c.set_name(absl::StrCat("clusters/", TextColumn(stmt, 0)));
    c.set_display_name(TextColumn(stmt, 1));
    index[c.name()] = clusters.size() - 1;
  }
  for (const v1::Locality& l : localities) {
    auto it = index.find(l.cluster());
    if (it == index.end()) continue;
    v1::Cluster& c = clusters[it->second];
    c.add_localities(l.name());
    c.set_practice_count(c.practice_count() + l.practice_count());
    c.set_total_practice_count(c.total_practice_count() + l.total_practice_count());
    c.set_registered_patients(c.registered_patients() + l.registered_patients());
    c.set_active_registered_patients(c.active_registered_patients() +
                                     l.active_registered_patients());
    c.set_patients_from_closed_practices(c.patients_from_closed_practices() +
                                         l.patients_from_closed_practices());
    figures[c.name()].Merge(populations.Locality(l.name().substr(sizeof("localities/") - 1)));
  }
  for (v1::Cluster& c : clusters) *c.mutable_list_sizes() = figures[c.name()].Vintage();
  return clusters;
}

}  // namespace

absl::StatusOr<std::vector<v1::Locality>> Store::Localities(const std::string& cluster_id) {
  std::vector<v1::Locality> localities;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Populations populations, LoadPopulations(tx));
    ASSIGN_OR_RETURN(localities, LocalitiesOn(tx, cluster_id, populations));
    return absl::OkStatus();
  }));
  return localities;
}

absl::StatusOr<std::vector<v1::Cluster>> Store::Clusters() {
  std::vector<v1::Cluster> clusters;
  RETURN_IF_ERROR(db_->Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Populations populations, LoadPopulations(tx));
    ASSIGN_OR_RETURN(clusters, ClustersOn(tx, populations));
    return absl::OkStatus();
  }));
  return clusters;
}

namespace {
absl::StatusOr<bool> Exists(Database& db, std::string_view sql, const std::string& id) {
  bool found = false;
  RETURN_IF_ERROR(db.Read([&](Transaction& tx) -> absl::Status {
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
    stmt.Bind(1, id);
    ASSIGN_OR_RETURN(found, stmt.Step());
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<std::vector<std::string>> Ids(Database& db, std::string_view sql) {
  std::vector<std::string> ids;
  RETURN_IF_ERROR(db.Read([&](Transaction& tx) -> absl::Status {
    ids.clear();
    ASSIGN_OR_RETURN(Statement stmt, tx.Prepare(sql));
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      ids.push_back(stmt.Text(0));
    }
    return absl::OkStatus();
  }));
  return ids;
}
}  // namespace

absl::StatusOr<bool> Store::LocalityExists(const std::string& id) {
  return Exists(*db_, "SELECT 1 FROM locality WHERE id = ?", id);
}

absl::StatusOr<bool> Store::ClusterExists(const std::string& id) {
  return Exists(*db_, "SELECT 1 FROM cluster WHERE id = ?", id);
}

absl::StatusOr<std::vector<std::string>> Store::LocalityIds() {
  return Ids(*db_, "SELECT id FROM locality ORDER BY id");
}

absl::StatusOr<std::vector<std::string>> Store::ClusterIds() {
  return Ids(*db_, "SELECT id FROM cluster ORDER BY id");
}

absl::StatusOr<v1::AreaSummary> Store::Summary(const std::string& commissioner, bool* found) {
  v1::AreaSummary summary;
  RETURN_IF_ERROR(db_->Read([&](Transaction& db) -> absl::Status {
    summary.Clear();
    {
      ASSIGN_OR_RETURN(Statement stmt,
                       db.Prepare("SELECT status, COUNT(*) FROM practice WHERE commissioner = ? "
                                  "GROUP BY status ORDER BY status"));
      stmt.Bind(1, commissioner);
      int total = 0;
      while (true) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        auto* count = summary.add_practices_by_status();
        count->set_status(static_cast<v1::Practice::Status>(stmt.Int(0)));
        count->set_count(static_cast<int32_t>(stmt.Int(1)));
        total += count->count();
      }
      summary.set_practice_count(total);
      *found = total > 0;
    }
    {
      ASSIGN_OR_RETURN(
          Statement stmt,
          db.Prepare("SELECT COALESCE(SUM(CASE WHEN status = 1 AND prescribing_setting = 4 THEN 1 "
                     "ELSE 0 END), 0), COALESCE(SUM(CASE WHEN locality_id IS NULL THEN 1 ELSE 0 "
                     "END), 0) FROM practice WHERE commissioner = ?"));
      stmt.Bind(1, commissioner);
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) {
        summary.set_active_gp_practice_count(static_cast<int32_t>(stmt.Int(0)));
        summary.set_unassigned_practice_count(static_cast<int32_t>(stmt.Int(1)));
      }
    }
    ASSIGN_OR_RETURN(Populations populations, LoadPopulations(db));
    populations.FillSummary(commissioner, summary);
    ASSIGN_OR_RETURN(std::vector<v1::Cluster> clusters, ClustersOn(db, populations));
    for (auto& c : clusters) *summary.add_clusters() = std::move(c);
    ASSIGN_OR_RETURN(std::vector<v1::Locality> localities, LocalitiesOn(db, "", populations));
    for (auto& l : localities) *summary.add_localities() = std::move(l);
    {
      ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT COALESCE(MAX(seq), 0) FROM change"));
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      summary.set_as_of_sequence(row ? stmt.Int(0) : 0);
    }
    return absl::OkStatus();
  }));
  return summary;
}

}  // namespace dorset::registry
