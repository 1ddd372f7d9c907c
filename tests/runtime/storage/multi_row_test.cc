// MultiRowInsert and MultiRowStatements (runtime/storage/multi_row.h) on both engines (part of
// the contract suite, labels `sqlite` and `postgres`): rows of every count go in whole and in
// order, each value read back as bound, whichever form carries them (SQLite: the 64/32/.../1-row
// shapes; PostgreSQL with the columns' types: one unnest statement whose arrays are built from
// the binds, so quotes, backslashes, braces, commas, "NULL", empty texts, NULLs, every byte of a
// blob and 64-bit extremes must survive the array literals); an insert's tail (ON CONFLICT)
// applies; a failing row fails the statement with the engine's error and leaves nothing.
#include "runtime/storage/multi_row.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

struct Item {
  int64_t id;
  std::string name;
  std::optional<std::string> note;
  std::optional<std::string> payload;
  std::optional<int64_t> amount;
  bool operator==(const Item&) const = default;
};

const MultiRowInsert& ItemInsert() {
  static const MultiRowInsert insert("INSERT INTO item (id, name, note, payload, amount) VALUES ",
                                     5, "", {"bigint", "text", "text", "bytea", "bigint"});
  return insert;
}

// Row i of a batch starting at `first`: awkward texts, blobs and integers in turn.
Item MakeItem(int64_t first, int i) {
  static const std::vector<std::string> kTexts = {"plain",          "with \"quotes\"",
                                                  "back\\slash\\",  "{braces},commas",
                                                  "NULL",           "",
                                                  " spaced ",       "é ü — ✓",
                                                  "'single'",       "\\\"both\\\"",
                                                  "tab\tnew\nline", "a,b}{c\"d\\e"};
  Item item;
  item.id = first + i;
  item.name = absl::StrCat(kTexts[static_cast<size_t>(i) % kTexts.size()], "#", item.id);
  switch (i % 4) {
    case 0:
      item.note = std::nullopt;
      break;
    case 1:
      item.note = "";
      break;
    case 2:
      item.note = "NULL";
      break;
    default:
      item.note = kTexts[static_cast<size_t>(i * 7) % kTexts.size()];
  }
  switch (i % 5) {
    case 0:
      item.payload = std::nullopt;
      break;
    case 1:
      item.payload = std::string();
      break;
    default: {
      std::string bytes;
      for (int b = 0; b < 256; ++b) bytes += static_cast<char>((b + i) & 0xff);
      item.payload = bytes;  // every byte value, NUL, '"', '\\', '{' and ',' among them
    }
  }
  switch (i % 3) {
    case 0:
      item.amount = std::numeric_limits<int64_t>::min();
      break;
    case 1:
      item.amount = std::numeric_limits<int64_t>::max();
      break;
    default:
      item.amount = i % 2 == 0 ? std::optional<int64_t>(-i) : std::nullopt;
  }
  return item;
}

class StorageMultiRow : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    std::string url = "sqlite://" + dir_.File("test.db");
    DORSET_DATABASE_FOR_ENGINE(GetParam(), url);
    absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  static absl::Status InsertItems(MultiRowStatements& inserts, const std::vector<Item>& items) {
    return inserts.Run(items.size(), [&items](Statement& s, size_t row, int first) {
      const Item& item = items[row];
      s.Bind(first, item.id).BindKept(first + 1, item.name).Bind(first + 2, item.note);
      if (item.payload) {
        s.BindBlobKept(first + 3, *item.payload);
      } else {
        s.BindNull(first + 3);
      }
      s.Bind(first + 4, item.amount);
    });
  }

  std::vector<Item> ReadItems() {
    std::vector<Item> items;
    absl::Status read = db_->Read([&](Transaction& tx) -> absl::Status {
      ASSIGN_OR_RETURN(Statement select, tx.Prepare("SELECT id, name, note, payload, amount FROM "
                                                    "item ORDER BY id"));
      while (true) {
        ASSIGN_OR_RETURN(bool row, select.Step());
        if (!row) break;
        items.push_back(Item{
            .id = select.Int(0),
            .name = select.Text(1),
            .note = select.OptionalText(2),
            .payload = select.IsNull(3) ? std::nullopt : std::optional<std::string>(select.Blob(3)),
            .amount = select.OptionalInt(4)});
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return items;
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(StorageMultiRow, RowsOfEveryCountReadBackAsBoundAndInOrder) {
  std::vector<Item> expected;
  int64_t next = 1;
  // Two runs in one transaction reuse its statements; the counts cross every shape's boundary.
  for (const std::vector<int>& counts :
       std::vector<std::vector<int>>{{0, 1}, {2, 3}, {15, 16}, {17, 63}, {64, 65}, {130, 1}}) {
    ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                     MultiRowStatements inserts(ItemInsert(), tx);
                     for (const int count : counts) {
                       std::vector<Item> items;
                       for (int i = 0; i < count; ++i) items.push_back(MakeItem(next, i));
                       RETURN_IF_ERROR(InsertItems(inserts, items));
                       next += count;
                       expected.insert(expected.end(), items.begin(), items.end());
                     }
                     return absl::OkStatus();
                   })
                    .ok());
  }
  const std::vector<Item> got = ReadItems();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "row " << i;

  // Rows take a table's generated sequence in the order they were bound.
  std::vector<int64_t> order;
  ASSERT_TRUE(
      db_->Write([&](Transaction& tx) -> absl::Status {
           RETURN_IF_ERROR(
               tx.Exec(tx.engine() == Engine::kPostgres
                           ? "CREATE TEMP TABLE seq_t (seq BIGINT GENERATED ALWAYS AS IDENTITY "
                             "PRIMARY KEY, v BIGINT NOT NULL) ON COMMIT DROP"
                           : "CREATE TEMP TABLE seq_t (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                             "v INTEGER NOT NULL)"));
           static const MultiRowInsert kSeq("INSERT INTO seq_t (v) VALUES ", 1, "", {"bigint"});
           MultiRowStatements inserts(kSeq, tx);
           RETURN_IF_ERROR(inserts.Run(131, [](Statement& s, size_t row, int first) {
             s.Bind(first, static_cast<int64_t>((row * 37) % 131));
           }));
           ASSIGN_OR_RETURN(Statement read, tx.Prepare("SELECT v FROM seq_t ORDER BY seq"));
           while (true) {
             ASSIGN_OR_RETURN(bool row, read.Step());
             if (!row) break;
             order.push_back(read.Int(0));
           }
           read.Reset();
           return tx.Exec("DROP TABLE seq_t");
         })
          .ok());
  ASSERT_EQ(order.size(), 131u);
  for (size_t row = 0; row < order.size(); ++row) {
    EXPECT_EQ(order[row], static_cast<int64_t>((row * 37) % 131)) << "row " << row;
  }
}

TEST_P(StorageMultiRow, TheTailAppliesToEveryRow) {
  static const MultiRowInsert kBump(
      "INSERT INTO counter (id, value) VALUES ", 2,
      " ON CONFLICT (id) DO UPDATE SET value = counter.value + excluded.value",
      {"bigint", "bigint"});
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                     MultiRowStatements bump(kBump, tx);
                     return bump.Run(20, [](Statement& s, size_t row, int first) {
                       s.Bind(first, static_cast<int64_t>(row + 1))
                           .Bind(first + 1, static_cast<int64_t>(10 * (row + 1)));
                     });
                   })
                    .ok());
  }
  int64_t rows = 0, sum = 0, first = 0;
  ASSERT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                   ASSIGN_OR_RETURN(Statement s, tx.Prepare("SELECT COUNT(*), SUM(value), (SELECT "
                                                            "value FROM counter WHERE id = 1) FROM "
                                                            "counter"));
                   ASSIGN_OR_RETURN(bool row, s.Step());
                   if (row) rows = s.Int(0), sum = s.Int(1), first = s.Int(2);
                   return absl::OkStatus();
                 })
                  .ok());
  EXPECT_EQ(rows, 20);
  EXPECT_EQ(sum, 2 * 10 * (20 * 21 / 2));  // the migration's row 1 started at 0
  EXPECT_EQ(first, 20);
}

TEST_P(StorageMultiRow, AFailingRowFailsTheInsertAndLeavesNothing) {
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   MultiRowStatements inserts(ItemInsert(), tx);
                   return InsertItems(inserts, {MakeItem(5, 0)});
                 })
                  .ok());
  std::vector<Item> items;
  for (int i = 0; i < 10; ++i) items.push_back(MakeItem(1, i));  // id 5 is taken
  absl::Status dup = db_->Write([&](Transaction& tx) -> absl::Status {
    MultiRowStatements inserts(ItemInsert(), tx);
    return InsertItems(inserts, items);
  });
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_EQ(ReadItems().size(), 1u);

  // PostgreSQL's arrays: a row missing a column is refused before anything is sent (never a
  // NULL filled in as a shorter array would be). (An unbound placeholder of the shapes is NULL on
  // both engines, as it always was.)
  if (GetParam() != Engine::kPostgres) return;
  absl::Status short_row = db_->Write([&](Transaction& tx) -> absl::Status {
    MultiRowStatements inserts(ItemInsert(), tx);
    return inserts.Run(3, [&items](Statement& s, size_t row, int first) {
      s.Bind(first, items[row].id + 100).Bind(first + 1, items[row].name);
      if (row != 1) s.BindNull(first + 2).BindNull(first + 3).BindNull(first + 4);
    });
  });
  EXPECT_EQ(short_row.code(), absl::StatusCode::kInternal) << short_row;
  EXPECT_EQ(ReadItems().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, StorageMultiRow,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
