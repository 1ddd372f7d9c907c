#include "runtime/storage/postgres/placeholders.h"

#include "gtest/gtest.h"
#include "runtime/storage/postgres/sqlstate.h"

namespace dorset::runtime::storage {
namespace {

TEST(Placeholders, NumbersEachQuestionMarkOutsideQuotesAndComments) {
  int n = 0;
  EXPECT_EQ(RewritePlaceholders("SELECT a FROM t WHERE a = ? AND b = ?", &n),
            "SELECT a FROM t WHERE a = $1 AND b = $2");
  EXPECT_EQ(n, 2);
  EXPECT_EQ(RewritePlaceholders("SELECT '?', 'it''s ?', \"col?\" FROM t WHERE x = ?", &n),
            "SELECT '?', 'it''s ?', \"col?\" FROM t WHERE x = $1");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(RewritePlaceholders("SELECT ? -- why?\n, ? /* what? */ , $$a?b$$, $t$?$t$, ?", &n),
            "SELECT $1 -- why?\n, $2 /* what? */ , $$a?b$$, $t$?$t$, $3");
  EXPECT_EQ(n, 3);
  EXPECT_EQ(RewritePlaceholders("SELECT 'unterminated ?", &n), "SELECT 'unterminated ?");
  EXPECT_EQ(n, 0);
}

TEST(SqlState, MapsToTheLanesCodes) {
  EXPECT_EQ(StatusFromSqlState("23505", "dup").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusFromSqlState("23502", "null").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusFromSqlState("23514", "check").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusFromSqlState("40001", "ser").code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(IsRetryableSqlState("40001"));
  EXPECT_TRUE(IsRetryableSqlState("40P01"));
  EXPECT_FALSE(IsRetryableSqlState("23505"));
  EXPECT_EQ(StatusFromSqlState("08006", "lost").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromSqlState("57P01", "shutdown").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromSqlState("53100", "disk full").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusFromSqlState("42601", "syntax").code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace dorset::runtime::storage
