// Populations derived from practices' list sizes, for localities, clusters and the area
// summary. A closed practice's list follows its successor chain to the first ACTIVE practice
// and counts where that practice is (the list moves to the successor, as docs/finance.md
// relies on); every figure carries the dates of the list sizes it sums, because list sizes
// and statuses come from files of different dates. Computed in the caller's read snapshot.
#ifndef DORSET_SERVICES_REGISTRY_POPULATION_H_
#define DORSET_SERVICES_REGISTRY_POPULATION_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dorset/registry/v1/registry.pb.h"

namespace dorset::registry {

// The population figures of one area (locality, cluster or commissioner).
struct PopulationFigures {
  int64_t registered_patients = 0;         // every list counted here, any status
  int64_t active_registered_patients = 0;  // lists of ACTIVE practices, own or moved in
  int64_t moved_in_patients = 0;           // lists moved in from closed practices
  int32_t list_size_practices = 0;
  std::string earliest_date;
  std::string latest_date;

  void AddList(int64_t size, const std::string& date, bool active, bool moved);
  void Merge(const PopulationFigures& other);
  v1::ListSizeVintage Vintage() const;
};

// What populations need of one practice (read by the store in one query, storage/area_reads.cc).
struct PracticeFacts {
  v1::Practice::Status status = v1::Practice::STATUS_UNSPECIFIED;
  std::string locality_id;
  std::string commissioner;
  int prescribing_setting = 0;
  std::optional<int64_t> list_size;
  std::string list_size_date;  // only of practices with a list size
  std::string successor_code;  // only of closed practices
  std::string close_date;      // only of closed practices
};

class Populations {
 public:
  // From every practice, by ODS code.
  static Populations Build(std::map<std::string, PracticeFacts> practices);

  // Figures of a locality id; zero when it has none.
  PopulationFigures Locality(const std::string& locality_id) const;
  // Figures, moves and list-size gaps of a commissioner's practices, into `summary`.
  void FillSummary(const std::string& commissioner, v1::AreaSummary& summary) const;

 private:
  using Facts = PracticeFacts;
  struct Move {
    std::string from_code;
    std::string to_code;
  };

  // The ACTIVE practice at the end of `code`'s successor chain, if any.
  std::optional<std::string> ActiveSuccessor(const std::string& code) const;

  std::map<std::string, Facts> practices_;
  std::map<std::string, PopulationFigures> by_locality_;
  std::map<std::string, PopulationFigures> by_commissioner_;
  std::vector<Move> moves_;
};

}  // namespace dorset::registry

#endif  // DORSET_SERVICES_REGISTRY_POPULATION_H_
