// The copy tool's engine-neutral core (runtime/storage/copy.h) on the lane's test tables: a table
// of many batches copied from SQLite to either engine whole and in key order (a two-column
// keyset with ties in the first column), a re-run that writes nothing, a target that differs
// refused; and the memory a copy holds: one batch, not the table (the live heap sampled while
// 50 MiB of rows move in 1 MiB batches).
#include "runtime/storage/copy.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"
#include "tests/runtime/storage/engines.h"

#if defined(__SANITIZE_ADDRESS__)
// From the sanitizer runtime (GCC ships no header for it).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace dorset::runtime::storage {
namespace {

// Bytes the program holds on its heap now (ASan's count under ASan: freed blocks wait in its
// quarantine, which RSS would count).
int64_t LiveHeapBytes() {
#if defined(__SANITIZE_ADDRESS__)
  return static_cast<int64_t>(__sanitizer_get_current_allocated_bytes());
#else
  const struct mallinfo2 info = mallinfo2();
  return static_cast<int64_t>(info.uordblks + info.hblkhd);
#endif
}

CopyPlan ItemPlan(const std::string& order_by) {
  using Type = CopyColumn::Type;
  CopyPlan plan;
  plan.service = "storage test";
  plan.tables = {
      {.name = "counter",
       .columns = {{"id", Type::kInt}, {"value", Type::kInt}},
       .order_by = "id",
       .identity_column = "",
       .seeded_when = "value = 0",
       .read_from = ""},
      {.name = "item",
       .columns = {{"id", Type::kInt},
                   {"name", Type::kText},
                   {"note", Type::kText},
                   {"payload", Type::kBlob},
                   {"amount", Type::kInt}},
       .order_by = order_by,
       .identity_column = "",
       .seeded_when = "",
       .read_from = ""},
  };
  plan.checks = {
      {.name = "items and amount", .sql = "SELECT COUNT(*), SUM(amount) FROM item", .columns = 2}};
  return plan;
}

class StorageCopy : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) {
      DORSET_REQUIRE_POSTGRES(testing::PostgresServer::Shared(), pg);
      (void)pg;
    }
    absl::StatusOr<std::unique_ptr<Database>> from = OpenUrl("sqlite://" + dir_.File("from.db"));
    ASSERT_TRUE(from.ok()) << from.status();
    from_ = *std::move(from);
    std::string to_url = "sqlite://" + dir_.File("to.db");
    if (GetParam() == Engine::kPostgres) {
      absl::StatusOr<std::string> uri = (*testing::PostgresServer::Shared())->CreateDatabase();
      ASSERT_TRUE(uri.ok()) << uri.status();
      to_url = *uri;
    }
    absl::StatusOr<std::unique_ptr<Database>> to = OpenUrl(to_url);
    ASSERT_TRUE(to.ok()) << to.status();
    to_ = *std::move(to);
  }

  // `rows` items with `payload_bytes` of payload each; amounts repeat (ties for a keyset on
  // "amount, id"), every 5th note is NULL. In transactions of 200 rows.
  void Fill(int rows, size_t payload_bytes) {
    for (int begin = 0; begin < rows; begin += 200) {
      absl::Status status = from_->Write([&](Transaction& tx) -> absl::Status {
        ASSIGN_OR_RETURN(Statement insert,
                         tx.Prepare("INSERT INTO item (id, name, note, payload, amount) "
                                    "VALUES (?, ?, ?, ?, ?)"));
        for (int i = begin; i < std::min(rows, begin + 200); ++i) {
          insert.Reset();
          insert.Bind(1, int64_t{1000 + i}).Bind(2, absl::StrCat("item-", i));
          if (i % 5 == 0) {
            insert.BindNull(3);
          } else {
            insert.Bind(3, absl::StrCat("note ", i));
          }
          std::string payload(payload_bytes, static_cast<char>('a' + i % 26));
          if (!payload.empty()) payload[0] = '\0';  // bytes, not text
          insert.BindBlob(4, payload).Bind(5, int64_t{i % 7});
          RETURN_IF_ERROR(insert.Run());
        }
        return absl::OkStatus();
      });
      ASSERT_TRUE(status.ok()) << status;
    }
  }

  // Every item as one string, in id order (payloads by size and first two bytes).
  static std::vector<std::string> Items(Database& db) {
    std::vector<std::string> out;
    absl::Status status = db.Read([&](Transaction& tx) -> absl::Status {
      out.clear();
      ASSIGN_OR_RETURN(Statement select,
                       tx.Prepare("SELECT id, name, note, payload, amount FROM item ORDER BY id"));
      while (true) {
        ASSIGN_OR_RETURN(bool row, select.Step());
        if (!row) return absl::OkStatus();
        const std::string payload = select.Blob(3);
        out.push_back(absl::StrCat(select.Int(0), "|", select.Text(1), "|",
                                   select.IsNull(2) ? "NULL" : select.Text(2), "|", payload.size(),
                                   ":", payload.substr(0, 2), "|", select.Int(4)));
      }
    });
    EXPECT_TRUE(status.ok()) << status;
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> from_;
  std::unique_ptr<Database> to_;
};

TEST_P(StorageCopy, ATableOfManyBatchesIsCopiedWholeInKeyOrderAndOnce) {
  ASSERT_NO_FATAL_FAILURE(Fill(2345, 40));
  const CopyPlan plan = ItemPlan("amount, id");
  const CopyOptions options{.batch_rows = 100};  // 24 batches, ties in `amount` across them

  absl::StatusOr<CopyReport> report = CopyService(*from_, *to_, plan, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->already_copied);
  EXPECT_TRUE(report->Verified()) << FormatCopyReport(*report);
  ASSERT_EQ(report->tables.size(), 2u);
  EXPECT_EQ(report->tables[1].source_rows, 2345);
  EXPECT_EQ(report->tables[1].target_rows, 2345);
  const std::vector<std::string> source = Items(*from_);
  ASSERT_EQ(source.size(), 2345u);
  EXPECT_EQ(Items(*to_), source);

  // Again: compared batch by batch, nothing written.
  report = CopyService(*from_, *to_, plan, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->already_copied);
  EXPECT_EQ(Items(*to_), source);

  // One row changed in the last batch of the target: refused, the target left as it is.
  ASSERT_TRUE(to_->Write([](Transaction& tx) {
                   return tx.Exec("UPDATE item SET note = 'changed' WHERE id = 3340");
                 })
                  .ok());
  report = CopyService(*from_, *to_, plan, options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition) << report.status();
  EXPECT_NE(report.status().message().find("table item: 2345 rows there, 2345 in the source"),
            std::string::npos)
      << report.status();
}

TEST_P(StorageCopy, AnOrderByThatIsNotAColumnIsRefusedNotGuessed) {
  ASSERT_NO_FATAL_FAILURE(Fill(3, 1));
  absl::StatusOr<CopyReport> report =
      CopyService(*from_, *to_, ItemPlan("lower(name)"), CopyOptions{.batch_rows = 2});
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInternal) << report.status();
  EXPECT_TRUE(Items(*to_).empty());
}

TEST_P(StorageCopy, MemoryHoldsOneBatchNotTheTable) {
  constexpr int kRows = 800;
  constexpr size_t kPayload = 64 * 1024;  // 50 MiB of payload in all
  ASSERT_NO_FATAL_FAILURE(Fill(kRows, kPayload));

  std::atomic<bool> stop{false};
  std::atomic<int64_t> peak{0};
  const int64_t before = LiveHeapBytes();
  std::thread sampler([&] {
    while (!stop.load()) {
      const int64_t now = LiveHeapBytes();
      int64_t seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  // 16 rows a batch: 1 MiB per side. The whole table would be 50 MiB (twice, read and kept).
  absl::StatusOr<CopyReport> report =
      CopyService(*from_, *to_, ItemPlan("id"), CopyOptions{.batch_rows = 16});
  stop = true;
  sampler.join();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->Verified());
  EXPECT_EQ(report->tables[1].target_rows, kRows);
  const int64_t grew = peak.load() - before;
  std::cout << "live heap before " << before / 1024 << " KiB, peak growth " << grew / 1024
            << " KiB while copying " << kRows * kPayload / 1024 << " KiB\n";
  // Generous: a few batches in flight plus the engines' caches, far below the table's 50 MiB.
  EXPECT_LT(grew, 20 * 1024 * 1024);
}

INSTANTIATE_TEST_SUITE_P(Engines, StorageCopy,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
