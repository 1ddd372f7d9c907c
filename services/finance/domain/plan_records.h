// The plan tree and budget lines as the finance domain sees them: plain records, no protobuf,
// gRPC or database types. The API edge (services/finance/api) maps them to and from the proto
// messages; the storage (services/finance/storage/plan_rows) reads and writes them.
#ifndef DORSET_SERVICES_FINANCE_DOMAIN_PLAN_RECORDS_H_
#define DORSET_SERVICES_FINANCE_DOMAIN_PLAN_RECORDS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dorset::finance {

// What a node of the plan tree is (the numbers are the stored codes and the proto's).
enum class NodeKind { kPlan = 1, kProgramme = 2, kScheme = 3 };

// A scheme's attributes that reports split by (the numbers are the stored codes and the proto's;
// 0 = not recorded).
enum class Recurrence { kUnspecified = 0, kRecurrent = 1, kNonRecurrent = 2 };
enum class Maturity {
  kUnspecified = 0,
  kFullyDeveloped = 1,
  kInDelivery = 2,
  kOpportunity = 3,
  kUnidentified = 4
};
struct SchemeAttributes {
  Recurrence recurrence = Recurrence::kUnspecified;
  Maturity maturity = Maturity::kUnspecified;
  std::string senior_responsible_owner;
};

// Financial year (2020 = "2020-21") -> pence.
using YearAmounts = std::map<int, int64_t>;

// One node as stored. `targets` is a scheme's own targets; a plan's or a programme's are
// derived (Plans::Get sets them).
struct NodeRecord {
  int64_t id = 0;
  std::string name;
  NodeKind kind = NodeKind::kPlan;
  int64_t plan_id = 0;
  std::string display_name;
  bool closed = false;  // schemes only
  std::string scope;    // schemes only
  int64_t version = 0;
  int64_t create_micros = 0;
  int64_t update_micros = 0;
  YearAmounts targets;
  SchemeAttributes attributes;  // schemes only
};

// A scheme under some node, with what a roll-up of targets needs: its targets while open, its
// delivered ACTUAL totals per year once closed (what it contributes then).
struct SchemeContribution {
  bool closed = false;
  YearAmounts targets;
  YearAmounts actuals;
};

// A node to insert.
struct NewNode {
  std::string name;
  NodeKind kind = NodeKind::kPlan;
  std::optional<int64_t> plan_id;
  std::optional<int64_t> parent_id;
  std::string display_name;
  std::string scope;
  SchemeAttributes attributes;
  int64_t now_micros = 0;
};

// Which nodes to list (each in name order).
enum class NodeSet { kPlans, kProgrammesOfPlan, kSchemesOfProgramme, kSchemesOfPlan };

struct BudgetLineRecord {
  std::string name;
  std::string display_name;
  int year = 0;
  int64_t amount = 0;
  std::string scope;
  bool illustrative = false;
  int64_t version = 0;
  int64_t create_micros = 0;
  int64_t update_micros = 0;
};

// A scheme edit: only the fields set change.
struct SchemeEdit {
  std::optional<std::string> display_name;
  std::optional<std::string> scope;
  std::optional<YearAmounts> targets;
  std::optional<Recurrence> recurrence;
  std::optional<Maturity> maturity;
  std::optional<std::string> senior_responsible_owner;
};

// A budget line edit: only the fields set change.
struct BudgetLineEdit {
  std::optional<std::string> display_name;
  std::optional<int64_t> amount;
  std::optional<std::string> scope;
  std::optional<bool> illustrative;
};

// One keyset page's worth of rows: the rows after `after` in key order, at most `limit`.
struct RowWindow {
  std::string after;
  int64_t limit = 0;
};

}  // namespace dorset::finance

#endif  // DORSET_SERVICES_FINANCE_DOMAIN_PLAN_RECORDS_H_
