// A transaction's parts on both engines (runtime/storage/database.h): InSavepoint and
// InOneWritePart, as a group committer uses them for one job of many (engagement's
// CreateResponse). A refused part leaves nothing and the transaction goes on; a part that wrote
// before it failed is never committed half-written.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engines.h"
#include "gtest/gtest.h"
#include "runtime/status/status_macros.h"

namespace dorset::runtime::storage {
namespace {

enum class Part { kSavepoint, kOneWrite };

class TransactionParts : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    std::string url = "sqlite://" + dir_.File("parts.db");
    DORSET_DATABASE_FOR_ENGINE(GetParam(), url);
    absl::StatusOr<std::unique_ptr<Database>> db = OpenUrl(url);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(db_->Write([](Transaction& tx) {
                     return tx.Exec("INSERT INTO item (id, name) VALUES (10, 'taken')");
                   })
                    .ok());
  }

  static absl::StatusOr<absl::Status> RunPart(Transaction& tx, Part part,
                                              absl::FunctionRef<absl::Status()> fn) {
    return part == Part::kSavepoint ? tx.InSavepoint(fn) : tx.InOneWritePart(fn);
  }

  // A part as a job of a group: a read, then one INSERT of (id, name).
  static absl::Status CheckThenInsert(Transaction& tx, int64_t id, const std::string& name) {
    ASSIGN_OR_RETURN(Statement count, tx.Prepare("SELECT COUNT(*) FROM item"));
    RETURN_IF_ERROR(count.Step().status());
    count.Reset();
    ASSIGN_OR_RETURN(Statement insert, tx.Prepare("INSERT INTO item (id, name) VALUES (?, ?)"));
    return insert.Bind(1, id).Bind(2, name).Run();
  }

  std::string Names() {
    std::string names;
    EXPECT_TRUE(db_->Read([&](Transaction& tx) -> absl::Status {
                     ASSIGN_OR_RETURN(Statement s, tx.Prepare("SELECT name FROM item ORDER BY id"));
                     while (true) {
                       ASSIGN_OR_RETURN(bool row, s.Step());
                       if (!row) return absl::OkStatus();
                       absl::StrAppend(&names, names.empty() ? "" : ",", s.Text(0));
                     }
                   })
                    .ok());
    return names;
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(TransactionParts, ARefusedPartLeavesNothingAndTheOthersCommit) {
  for (Part part : {Part::kSavepoint, Part::kOneWrite}) {
    SCOPED_TRACE(part == Part::kSavepoint ? "InSavepoint" : "InOneWritePart");
    const int64_t base = part == Part::kSavepoint ? 0 : 100;
    absl::StatusOr<absl::Status> refused;
    ASSERT_TRUE(
        db_->Write([&](Transaction& tx) -> absl::Status {
             ASSIGN_OR_RETURN(absl::Status first, RunPart(tx, part, [&] {
                                return CheckThenInsert(tx, base + 1, absl::StrCat(base, "a"));
                              }));
             EXPECT_TRUE(first.ok()) << first;
             // The name is taken: the INSERT fails on the UNIQUE constraint.
             refused = RunPart(tx, part, [&] { return CheckThenInsert(tx, base + 2, "taken"); });
             RETURN_IF_ERROR(refused.status());
             ASSIGN_OR_RETURN(absl::Status third, RunPart(tx, part, [&] {
                                return CheckThenInsert(tx, base + 3, absl::StrCat(base, "c"));
                              }));
             EXPECT_TRUE(third.ok()) << third;
             return absl::OkStatus();
           })
            .ok());
    ASSERT_TRUE(refused.ok()) << refused.status();  // the part's own outcome, not the group's
    EXPECT_EQ(refused->code(), absl::StatusCode::kAlreadyExists) << *refused;
  }
  EXPECT_EQ(Names(), "0a,0c,taken,100a,100c");
}

TEST_P(TransactionParts, SavepointsOfManyPartsInARowEachUndoOnlyTheirOwnPart) {
  // On PostgreSQL a part's SAVEPOINT and the RELEASE before it go in the pipeline of the part's
  // first statement (Connection::ExecDeferred): parts refused before any statement, parts that
  // fail at their first or a later statement, parts with no statement at all, a statement
  // between parts, and a last RELEASE left to the commit must each keep or undo exactly their
  // own part.
  const auto refuse = []() -> absl::Status { return absl::FailedPreconditionError("checked"); };
  std::vector<absl::StatusCode> outcomes;
  ASSERT_TRUE(db_->Write([&](Transaction& tx) -> absl::Status {
                   const auto part = [&](absl::FunctionRef<absl::Status()> fn) -> absl::Status {
                     ASSIGN_OR_RETURN(absl::Status outcome, tx.InSavepoint(fn));
                     outcomes.push_back(outcome.code());
                     return absl::OkStatus();
                   };
                   RETURN_IF_ERROR(part([&] { return CheckThenInsert(tx, 1, "a"); }));
                   RETURN_IF_ERROR(part(refuse));
                   RETURN_IF_ERROR(part(refuse));
                   RETURN_IF_ERROR(part([&]() -> absl::Status {
                     RETURN_IF_ERROR(CheckThenInsert(tx, 4, "d"));
                     return CheckThenInsert(tx, 40, "taken");
                   }));
                   RETURN_IF_ERROR(part([&] { return CheckThenInsert(tx, 5, "e"); }));
                   RETURN_IF_ERROR(part([&] { return CheckThenInsert(tx, 6, "taken"); }));
                   RETURN_IF_ERROR(part([&] { return CheckThenInsert(tx, 7, "g"); }));
                   RETURN_IF_ERROR(part([] { return absl::OkStatus(); }));
                   RETURN_IF_ERROR(CheckThenInsert(tx, 9, "i"));
                   return part([&] { return CheckThenInsert(tx, 11, "k"); });
                 })
                  .ok());
  using C = absl::StatusCode;
  EXPECT_EQ(outcomes,
            (std::vector<C>{C::kOk, C::kFailedPrecondition, C::kFailedPrecondition,
                            C::kAlreadyExists, C::kOk, C::kAlreadyExists, C::kOk, C::kOk, C::kOk}));
  EXPECT_EQ(Names(), "a,e,g,i,taken,k");
}

TEST_P(TransactionParts, APartThatWroteBeforeItFailedIsNeverCommittedHalfWritten) {
  // Breaks InOneWritePart's rule (its only write is its last statement): one INSERT completes,
  // the next fails. PostgreSQL takes a savepoint and undoes the part; SQLite has none to undo
  // it with, so the whole transaction fails instead.
  absl::StatusOr<absl::Status> part;
  const absl::Status group = db_->Write([&](Transaction& tx) -> absl::Status {
    RETURN_IF_ERROR(CheckThenInsert(tx, 1, "before"));
    part = tx.InOneWritePart([&]() -> absl::Status {
      RETURN_IF_ERROR(CheckThenInsert(tx, 2, "written"));
      return CheckThenInsert(tx, 3, "taken");
    });
    RETURN_IF_ERROR(part.status());
    return CheckThenInsert(tx, 4, "after");
  });
  if (GetParam() == Engine::kSqlite) {
    EXPECT_FALSE(part.ok());
    EXPECT_EQ(group.code(), absl::StatusCode::kInternal) << group;
    EXPECT_EQ(Names(), "taken");
  } else {
    ASSERT_TRUE(part.ok()) << part.status();
    EXPECT_EQ(part->code(), absl::StatusCode::kAlreadyExists) << *part;
    EXPECT_TRUE(group.ok()) << group;
    EXPECT_EQ(Names(), "before,after,taken");
  }
}

TEST_P(TransactionParts, AFailureThatDoomsTheTransactionIsTheErrorNotThePartsOutcome) {
  // PostgreSQL: a serialization failure (40001) raised by the part's INSERT; the group must run
  // again as a whole. SQLite: the transaction ended under the part (as SQLite itself ends it on
  // a full disk or an I/O error; here the part's own ROLLBACK stands in); the group must fail.
  // Either way the part hands the failure back as the error, never as its own outcome.
  const bool sqlite = GetParam() == Engine::kSqlite;
  if (!sqlite) {
    ASSERT_TRUE(db_->Write([](Transaction& tx) {
                     return tx.Exec(R"sql(
        CREATE FUNCTION forced_conflict() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.name = 'conflict' THEN
            RAISE EXCEPTION 'forced serialization failure' USING ERRCODE = '40001';
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER forced_conflict BEFORE INSERT ON item
          FOR EACH ROW EXECUTE FUNCTION forced_conflict();)sql");
                   })
                    .ok());
  }
  for (Part part : {Part::kSavepoint, Part::kOneWrite}) {
    SCOPED_TRACE(part == Part::kSavepoint ? "InSavepoint" : "InOneWritePart");
    absl::StatusOr<absl::Status> first_attempt;
    int attempts = 0;
    const absl::Status group = db_->Write([&](Transaction& tx) -> absl::Status {
      absl::StatusOr<absl::Status> outcome = RunPart(tx, part, [&]() -> absl::Status {
        if (!sqlite) return CheckThenInsert(tx, 1, "conflict");
        RETURN_IF_ERROR(tx.Exec("ROLLBACK"));
        return absl::ResourceExhaustedError("the disk is full");
      });
      if (attempts++ == 0) first_attempt = outcome;
      RETURN_IF_ERROR(outcome.status());
      return CheckThenInsert(tx, 2, "after");
    });
    EXPECT_FALSE(first_attempt.ok()) << "the failure came back as the part's own outcome";
    if (sqlite) {
      EXPECT_EQ(attempts, 1);  // not worth running again
      EXPECT_FALSE(group.ok());
    } else {
      EXPECT_GT(attempts, 1);  // Database::Write ran the transaction again
      EXPECT_EQ(group.code(), absl::StatusCode::kAborted) << group;
    }
  }
  EXPECT_EQ(Names(), "taken");
}

INSTANTIATE_TEST_SUITE_P(Engines, TransactionParts,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const ::testing::TestParamInfo<Engine>& info) {
                           return std::string(EngineName(info.param));
                         });

}  // namespace
}  // namespace dorset::runtime::storage
