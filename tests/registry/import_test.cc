// Imports of the real NHS files (the project's copies under data/) and of malformed files.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/storage/store.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

using ::testing::UnorderedElementsAreArray;

// An epraccur row (27 quoted fields) for an 11J practice; `edit` changes fields by index.
std::string Row(const std::string& code, std::map<int, std::string> edit = {}) {
  std::vector<std::string> f = {code,
                                "TEST SURGERY",
                                "Y58",
                                "QVV",
                                "1 HIGH STREET, OLD TOWN",
                                "",
                                "",
                                "POOLE",
                                "DORSET",
                                "BH15 1AA",
                                "19740401",
                                "",
                                "A",
                                "B",
                                "11J",
                                "20130401",
                                "",
                                "01202 000000",
                                "",
                                "",
                                "",
                                "0",
                                "",
                                "11J",
                                "",
                                "4",
                                ""};
  for (auto& [i, v] : edit) f[i] = v;
  std::string line;
  for (size_t i = 0; i < f.size(); ++i) line += (i ? ",\"" : "\"") + f[i] + "\"";
  return line + "\n";
}

TEST(Import, RealDorsetFilesGiveTheIssuesFigures) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  auto localities =
      env->Import(v1::IMPORT_KIND_LOCALITIES, SourceFile("data/dorset/localities.csv"));
  ASSERT_TRUE(localities.ok()) << localities.status();
  EXPECT_EQ(localities->added(), 13);
  EXPECT_EQ(localities->rejected(), 0);
  auto mapping = env->Import(v1::IMPORT_KIND_PRACTICE_LOCALITIES,
                             SourceFile("data/dorset/practice-localities.csv"));
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  EXPECT_EQ(mapping->added(), 139);
  EXPECT_EQ(mapping->rejected(), 0);

  auto epraccur =
      env->Import(v1::IMPORT_KIND_EPRACCUR, SourceFile("data/ods/epraccur-2025-05.csv"));
  ASSERT_TRUE(epraccur.ok()) << epraccur.status();
  EXPECT_EQ(epraccur->commissioner(), "11J");
  EXPECT_EQ(epraccur->rows_read(), 16534);
  EXPECT_EQ(epraccur->rows_skipped(), 16534 - 139);
  EXPECT_EQ(epraccur->added(), 139);
  EXPECT_EQ(epraccur->changed(), 0);
  EXPECT_EQ(epraccur->rejected(), 0);
  EXPECT_EQ(epraccur->mismatches_size(), 0);  // no list sizes yet: nothing to compare

  auto sizes = env->Import(v1::IMPORT_KIND_LIST_SIZES,
                           SourceFile("data/ods/gp-reg-pat-prac-all-2021-01.csv"));
  ASSERT_TRUE(sizes.ok()) << sizes.status();
  EXPECT_EQ(sizes->list_size_practices(), 79);
  EXPECT_EQ(sizes->list_size_patients(), 810033);
  EXPECT_EQ(sizes->changed(), 79);
  EXPECT_EQ(sizes->rejected(), 0);
  std::vector<std::string> not_active, without;
  for (const auto& m : sizes->mismatches()) {
    (m.kind() == v1::ImportReport::Mismatch::KIND_LIST_SIZE_NOT_ACTIVE ? not_active : without)
        .push_back(m.ods_code());
  }
  EXPECT_THAT(not_active,
              UnorderedElementsAreArray({"J81003", "J81004", "J81005", "J81044", "J81048", "J81052",
                                         "J81054", "J81613", "J81628", "J81637", "J81644"}));
  EXPECT_EQ(without.size(), 14u);
  for (const auto& m : sizes->mismatches()) {
    if (m.kind() == v1::ImportReport::Mismatch::KIND_ACTIVE_WITHOUT_LIST_SIZE) {
      EXPECT_NE(m.prescribing_setting(), 4) << m.ods_code();
    }
  }

  grpc::ClientContext context;
  v1::AreaSummary summary;
  ASSERT_TRUE(env->stub().GetAreaSummary(&context, v1::GetAreaSummaryRequest(), &summary).ok());
  std::map<v1::Practice::Status, int> by_status;
  for (const auto& c : summary.practices_by_status()) by_status[c.status()] = c.count();
  EXPECT_EQ(summary.practice_count(), 139);
  EXPECT_EQ(by_status[v1::Practice::STATUS_ACTIVE], 82);
  EXPECT_EQ(by_status[v1::Practice::STATUS_CLOSED], 54);
  EXPECT_EQ(by_status[v1::Practice::STATUS_DORMANT], 3);
  EXPECT_EQ(summary.active_gp_practice_count(), 68);
  EXPECT_EQ(summary.registered_patients(), 810033);
  EXPECT_EQ(summary.unassigned_practice_count(), 0);
  EXPECT_EQ(summary.governing_body().display_name(), "NHS Dorset");
  ASSERT_EQ(summary.localities_size(), 13);
  ASSERT_EQ(summary.clusters_size(), 3);
  int active = 0, all = 0;
  int64_t patients = 0, cluster_patients = 0;
  for (const auto& l : summary.localities()) {
    active += l.practice_count();
    all += l.total_practice_count();
    patients += l.registered_patients();
  }
  for (const auto& c : summary.clusters()) cluster_patients += c.registered_patients();
  EXPECT_EQ(active, 82);
  EXPECT_EQ(all, 139);
  EXPECT_EQ(patients, 810033);
  EXPECT_EQ(cluster_patients, 810033);

  // A practice as imported: commas inside quotes, dates converted, locality from the mapping.
  auto j81002 = env->Get("J81002");
  ASSERT_TRUE(j81002.ok());
  EXPECT_EQ(j81002->display_name(), "ORCHID HOUSE SURGERY");
  EXPECT_THAT(j81002->address_lines(),
              ::testing::ElementsAre("THE ORCHID HOUSE SURGERY", "FERNDOWN MEDICAL CENTRE",
                                     "ST. MARYS ROAD", "FERNDOWN, WIMBORNE"));
  EXPECT_EQ(j81002->postcode(), "BH22 9HB");
  EXPECT_EQ(j81002->open_date(), "1974-04-01");
  EXPECT_EQ(j81002->locality(), "localities/east-dorset");
  EXPECT_EQ(j81002->list_size(), 8840);
  EXPECT_EQ(j81002->list_size_date(), "2021-01-01");
  EXPECT_EQ(j81002->telephone(), "01202 897000");
  auto j81003 = env->Get("J81003");
  ASSERT_TRUE(j81003.ok());
  EXPECT_EQ(j81003->status(), v1::Practice::STATUS_CLOSED);
  EXPECT_EQ(j81003->close_date(), "2024-10-31");
}

TEST(Import, ReimportingTheSameFilesChangesNothing) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  env->LoadDorset();
  grpc::ClientContext c1;
  v1::ListChangesResponse before;
  ASSERT_TRUE(env->stub().ListChanges(&c1, v1::ListChangesRequest(), &before).ok());

  auto epraccur =
      env->Import(v1::IMPORT_KIND_EPRACCUR, SourceFile("data/ods/epraccur-2025-05.csv"));
  ASSERT_TRUE(epraccur.ok());
  EXPECT_EQ(epraccur->added(), 0);
  EXPECT_EQ(epraccur->changed(), 0);
  EXPECT_EQ(epraccur->unchanged(), 139);
  EXPECT_EQ(epraccur->last_sequence(), 0);
  EXPECT_EQ(epraccur->mismatches_size(), 25);  // reported again, still not guessed
  auto sizes = env->Import(v1::IMPORT_KIND_LIST_SIZES,
                           SourceFile("data/ods/gp-reg-pat-prac-all-2021-01.csv"));
  ASSERT_TRUE(sizes.ok());
  EXPECT_EQ(sizes->changed(), 0);
  EXPECT_EQ(sizes->unchanged(), 79);
  auto mapping = env->Import(v1::IMPORT_KIND_PRACTICE_LOCALITIES,
                             SourceFile("data/dorset/practice-localities.csv"));
  ASSERT_TRUE(mapping.ok());
  EXPECT_EQ(mapping->unchanged(), 139);
  EXPECT_EQ(mapping->added() + mapping->changed(), 0);

  grpc::ClientContext c2;
  v1::ListChangesResponse after;
  ASSERT_TRUE(env->stub().ListChanges(&c2, v1::ListChangesRequest(), &after).ok());
  EXPECT_EQ(after.latest_sequence(), before.latest_sequence());
}

TEST(Import, NationalExtractWithAllCommissioners) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  auto report =
      env->Import(v1::IMPORT_KIND_EPRACCUR, SourceFile("data/ods/epraccur-2025-05.csv"), "all");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rows_read(), 16534);
  EXPECT_EQ(report->rows_skipped(), 0);
  EXPECT_EQ(report->added() + report->rejected(), 16534);
  EXPECT_EQ(report->rejected(), 0);
  grpc::ClientContext context;
  v1::ListPracticesRequest request;
  request.set_page_size(1);
  v1::ListPracticesResponse response;
  ASSERT_TRUE(env->stub().ListPractices(&context, request, &response).ok());
  EXPECT_EQ(response.total_size(), 16534);
}

TEST(Import, MalformedRowsAreRejectedWithLineAndReasonAndTheRestImported) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  std::string file;
  file += Row("J90001");                                 // 1 good
  file += "\"J90002\",\"SHORT ROW\",\"Y58\"\n";          // 2 short
  file += Row("J90003", {{10, "20231301"}});             // 3 bad open date
  file += "\"J90004\",\"BAD\"QUOTE\",\"Y58\"\n";         // 4 bad quote
  file += Row("J90001", {{1, "DUPLICATE"}});             // 5 duplicate of line 1
  file += Row("J90005", {{9, "NOT A POSTCODE"}});        // 6 bad postcode
  file += Row("J90006", {{12, "X"}});                    // 7 bad status
  file += Row("J9000", {});                              // 8 bad code
  file += Row("J90007", {{11, "19700101"}, {12, "C"}});  // 9 closed before it opened
  file += Row("J90008", {{1, std::string(101, 'A')}});   // 10 name too long
  file += Row("Y01262", {{25, "0"}});                    // 11 good Y-code
  file += Row("J90009", {{14, "99X"}});                  // 12 other commissioner: skipped
  auto report = env->Import(v1::IMPORT_KIND_EPRACCUR, file);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rows_read(), 12);  // every record, the bad-quote one included
  EXPECT_EQ(report->added(), 2);
  EXPECT_EQ(report->rows_skipped(), 1);
  EXPECT_EQ(report->rejected(), 9);
  std::map<int, std::string> reasons;
  for (const auto& r : report->rejections()) reasons[r.line()] = r.reason();
  EXPECT_EQ(reasons[2], "expected 27 fields, found 3");
  EXPECT_EQ(reasons[3], "open date is not a date (YYYYMMDD)");
  EXPECT_EQ(reasons[4], "text after a closing quote in field 2");
  EXPECT_EQ(reasons[5], "duplicate code (first at line 1)");
  EXPECT_EQ(reasons[6], "postcode is not a UK postcode");
  EXPECT_EQ(reasons[7], "status is not A, C, D or P");
  EXPECT_EQ(reasons[8], "organisation code is not a practice code");
  EXPECT_EQ(reasons[9], "close date is before open date");
  EXPECT_EQ(reasons[10], "name is empty or longer than 100 characters");
  EXPECT_TRUE(env->Get("J90001").ok());
  EXPECT_EQ(env->Get("J90001")->display_name(), "TEST SURGERY");  // not the duplicate
  EXPECT_TRUE(env->Get("Y01262").ok());
  EXPECT_EQ(env->Get("J90003").status().code(), absl::StatusCode::kNotFound);
}

// Issue 16: epraccur rows are applied in batches (WriteTx::kBatchRows). A repeated code is a
// duplicate of its first line whether the first is in the same batch or an earlier one, and the
// rejections are listed in line order as when rows were applied one at a time.
std::string Code(int i) { return absl::StrCat("J9", 1000 + i); }

TEST(Import, DuplicatesWithinAndAcrossBatchesNameTheirFirstLineInLineOrder) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  std::string file;
  std::map<int, std::string> expected;  // line -> reason
  int line = 0;
  for (int i = 0; i < 700; ++i) {
    file += Row(Code(i), {{1, absl::StrCat("SURGERY ", i)}});
    ++line;
    if (i == 3) {  // the same batch as its first line
      file += Row(Code(0));
      expected[++line] = "duplicate code (first at line 1)";
    }
    if (i == 400) {  // a later batch
      file += Row(Code(2));
      expected[++line] = "duplicate code (first at line 3)";
      file += Row(Code(400), {{12, "X"}});  // rejected by its own fields, between duplicates
      expected[++line] = "status is not A, C, D or P";
      file += Row(Code(400));
      ++line;
      expected[line] = absl::StrCat("duplicate code (first at line ", line - 3, ")");
    }
  }
  auto report = env->Import(v1::IMPORT_KIND_EPRACCUR, file);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->added(), 700);
  EXPECT_EQ(report->rejected(), 4);
  std::vector<int> lines;
  std::map<int, std::string> reasons;
  for (const auto& r : report->rejections()) {
    lines.push_back(r.line());
    reasons[r.line()] = r.reason();
  }
  EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end()));
  EXPECT_EQ(reasons, expected);
  EXPECT_EQ(env->Get(Code(0))->display_name(), "SURGERY 0");  // not the duplicate
  EXPECT_EQ(env->Get(Code(400))->display_name(), "SURGERY 400");
  EXPECT_EQ(report->last_sequence() - report->first_sequence() + 1, 700);
}

// An import lists its first WriteTx::kMaxListedChanges changes for the caches and the commit
// effects read the rest back from the change feed (heads only): a practice changed past that
// point is seen changed by the next read, though it was read (and cached) before.
TEST(Import, APracticeChangedPastTheListedChangesIsSeenChanged) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  constexpr int kPractices = 1300;
  ASSERT_GT(kPractices, static_cast<int>(WriteTx::kMaxListedChanges));
  std::string first, second;
  for (int i = 0; i < kPractices; ++i) {
    first += Row(Code(i), {{1, absl::StrCat("SURGERY ", i)}});
    second += Row(Code(i), {{1, absl::StrCat("RENAMED SURGERY ", i)}});
  }
  auto added = env->Import(v1::IMPORT_KIND_EPRACCUR, first);
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_EQ(added->added(), kPractices);
  const std::string last = Code(kPractices - 1);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(env->Get(last)->display_name(), "SURGERY 1299");
  auto renamed = env->Import(v1::IMPORT_KIND_EPRACCUR, second);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  ASSERT_EQ(renamed->changed(), kPractices);
  EXPECT_EQ(env->Get(last)->display_name(), "RENAMED SURGERY 1299");
  EXPECT_EQ(env->Get(Code(0))->display_name(), "RENAMED SURGERY 0");
}

TEST(Import, EmptyFilesAndBadOptionsAreInvalidArguments) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  for (const std::string& empty : {std::string(""), std::string("\n\n  \n")}) {
    auto report = env->Import(v1::IMPORT_KIND_EPRACCUR, empty);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument) << report.status();
  }
  EXPECT_EQ(env->Import(v1::IMPORT_KIND_UNSPECIFIED, Row("J90001")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90001"), "not a code").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto no_header = env->Import(v1::IMPORT_KIND_LIST_SIZES, "A,B,C\n1,2,3\n");
  EXPECT_EQ(no_header.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_header.status().message()), ::testing::HasSubstr("CODE"));
}

TEST(Import, ListSizeRowsAreCheckedAndUnknownPracticesRejected) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  ASSERT_TRUE(env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90001") + Row("J90002")).ok());
  const std::string header =
      "PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_"
      "PATIENTS\n";
  const std::string file =
      header +
      "GP_PRAC_PAT_LIST,01JAN2021,GP,11J,E38000045,J90001,BH15 1AA,ALL,ALL,1234\n"
      "GP_PRAC_PAT_LIST,01JAN2021,GP,11J,E38000045,J90009,BH15 1AA,ALL,ALL,10\n"
      "GP_PRAC_PAT_LIST,01JAN2021,GP,11J,E38000045,J90002,BH15 1AA,ALL,ALL,-5\n"
      "GP_PRAC_PAT_LIST,32JAN2021,GP,11J,E38000045,J90002,BH15 1AA,ALL,ALL,5\n"
      "GP_PRAC_PAT_LIST,01JAN2021,GP,11J,E38000045,J90001,BH15 1AA,ALL,ALL,7\n"
      "GP_PRAC_PAT_LIST,01JAN2021,GP,11J\n";
  auto report = env->Import(v1::IMPORT_KIND_LIST_SIZES, file);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->changed(), 1);
  EXPECT_EQ(report->rejected(), 5);
  std::map<int, std::string> reasons;
  for (const auto& r : report->rejections()) reasons[r.line()] = r.reason();
  EXPECT_THAT(reasons[3], ::testing::HasSubstr("no such practice"));
  EXPECT_THAT(reasons[4], ::testing::HasSubstr("NUMBER_OF_PATIENTS"));
  EXPECT_THAT(reasons[5], ::testing::HasSubstr("EXTRACT_DATE"));
  EXPECT_EQ(reasons[6], "duplicate code (first at line 2)");
  EXPECT_EQ(reasons[7], "expected 10 fields, found 4");
  // J90002 is active without a list size: reported, not guessed.
  ASSERT_EQ(report->mismatches_size(), 1);
  EXPECT_EQ(report->mismatches(0).ods_code(), "J90002");
  EXPECT_EQ(report->mismatches(0).kind(),
            v1::ImportReport::Mismatch::KIND_ACTIVE_WITHOUT_LIST_SIZE);
  EXPECT_EQ(env->Get("J90001")->list_size(), 1234);
  EXPECT_FALSE(env->Get("J90002")->has_list_size());
}

TEST(Import, ValidateOnlyWritesNothingAndRequestIdsRepeatTheFirstReport) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  auto dry = env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90001"), "", "", /*validate_only=*/true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->added(), 1);
  EXPECT_TRUE(dry->validate_only());
  EXPECT_EQ(env->Get("J90001").status().code(), absl::StatusCode::kNotFound);

  auto first = env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90001"), "", "import-1");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->added(), 1);
  auto again = env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90001"), "", "import-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->added(), 1);  // the first import's report
  // The same id with another file is a different request: refused, nothing written.
  auto other =
      env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90001", {{1, "RENAMED"}}), "", "import-1");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(env->Get("J90001")->display_name(), "TEST SURGERY");
}

TEST(Import, ChangedRowsUpdateAndClosuresAreRecorded) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  ASSERT_TRUE(env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90001") + Row("J90002")).ok());
  auto report = env->Import(v1::IMPORT_KIND_EPRACCUR,
                            Row("J90001", {{1, "NEW NAME"}}) +
                                Row("J90002", {{11, "20250101"}, {12, "C"}, {16, "20250101"}}));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->changed(), 2);
  grpc::ClientContext context;
  v1::ListChangesRequest request;
  request.set_after_sequence(report->first_sequence() - 1);
  v1::ListChangesResponse changes;
  ASSERT_TRUE(env->stub().ListChanges(&context, request, &changes).ok());
  ASSERT_EQ(changes.changes_size(), 2);
  EXPECT_EQ(changes.changes(0).kind(), v1::Change::KIND_PRACTICE_UPDATED);
  EXPECT_THAT(changes.changes(0).changed_fields(), ::testing::ElementsAre("display_name"));
  EXPECT_EQ(changes.changes(0).source(), "import:epraccur");
  EXPECT_EQ(changes.changes(1).kind(), v1::Change::KIND_PRACTICE_CLOSED);
  EXPECT_EQ(changes.changes(1).practice().status(), v1::Practice::STATUS_CLOSED);
}

}  // namespace
}  // namespace dorset::registry::testing
