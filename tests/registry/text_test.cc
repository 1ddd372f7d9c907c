// Text integrity (issue 10 item 1, issue 11 items 4 and 5): non-UTF-8 files are read as
// Windows-1252, control characters are refused with the row named, stored rows from before
// the checks are repaired by the migration (and read safely even when not), every read path
// keeps working, and the import report's counts always add up.
#include "services/registry/text.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "runtime/sqlite/database.h"
#include "runtime/testing/temp_dir.h"
#include "services/registry/importer.h"
#include "services/registry/storage/store.h"
#include "services/registry/stored_text.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

using ::testing::HasSubstr;

// An epraccur row (27 quoted fields) for an 11J practice; `edit` changes fields by index.
std::string Row(const std::string& code, std::map<int, std::string> edit = {}) {
  std::vector<std::string> f = {code,
                                "TEST SURGERY",
                                "Y58",
                                "QVV",
                                "1 HIGH STREET",
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

const char kCafe[] = "CAF\xC3\x89 SURGERY";  // "CAFÉ SURGERY" in UTF-8

TEST(Text, Utf8ChecksAndWindows1252Decoding) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8(kCafe));
  EXPECT_FALSE(IsValidUtf8("CAF\xC9 SURGERY"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_EQ(DecodeWindows1252("CAF\xC9 SURGERY"), kCafe);
  EXPECT_EQ(DecodeWindows1252("\x80\x93\x94"), "\xE2\x82\xAC\xE2\x80\x9C\xE2\x80\x9D");  // €“”
  EXPECT_EQ(DecodeWindows1252("\x81"), "\xEF\xBF\xBD");  // undefined: U+FFFD
  EXPECT_EQ(FirstControlCharacter("A\nB"), U'\n');
  EXPECT_EQ(FirstControlCharacter("A\xC2\x85"), U'\x85');  // C1 NEL
  EXPECT_FALSE(FirstControlCharacter(kCafe).has_value());
  EXPECT_EQ(CodePointCount(kCafe), 12u);
  EXPECT_TRUE(IsValidUtf8(ForReply("\xFF\x01\xFE")));
  EXPECT_EQ(RepairedText("1 HIGH\nSTREET"), "1 HIGH STREET");
  EXPECT_FALSE(RepairedText(kCafe).has_value());
}

TEST(Text, RequestStringsAreCheckedAndTheBadFieldNamed) {
  v1::UpdatePracticeRequest request;
  request.mutable_practice()->set_name("practices/J81016");
  request.mutable_practice()->add_address_lines("1 HIGH STREET");
  request.mutable_practice()->add_address_lines("CAF\xC9");
  const absl::Status status = CheckRequestText(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("practice.address_lines[1]"));
  v1::ImportOptions options;
  options.set_kind(v1::IMPORT_KIND_EPRACCUR);
  options.set_source_name("epraccur\xE9.csv");
  const absl::Status options_status = CheckImportOptions(options);
  EXPECT_EQ(options_status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(options_status.message()), HasSubstr("source_name"));
  request.mutable_practice()->set_address_lines(1, kCafe);
  EXPECT_TRUE(CheckRequestText(request).ok());
}

// Over the wire a non-UTF-8 request never reaches a handler: gRPC's parser refuses it and the
// runtime answers INVALID_ARGUMENT. Nothing is written.
TEST(TextImport, NonUtf8RequestOverTheWireIsInvalidArgumentAndWritesNothing) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::CreatePracticeRequest request;
  *request.mutable_practice() = NewPractice("J90020", "CAF\xC9 SURGERY");  // serialised as is
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer in(&slice, 1), out;
  grpc::GenericStub stub(env->channel());
  grpc::ClientContext context;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/dorset.registry.v1.RegistryService/CreatePractice",
                 grpc::StubOptions(), &in, &out, [&](grpc::Status s) { done.set_value(s); });
  const grpc::Status status = done.get_future().get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(env->Get("J90020").status().code(), absl::StatusCode::kNotFound);
}

TEST(Text, StoredMessagesWithLatin1StringsAreRepairedFromTheWireFormat) {
  v1::Change change;
  change.set_kind(v1::Change::KIND_PRACTICE_CREATED);
  change.set_resource("practices/J90001");
  change.mutable_practice()->set_display_name("CAF\xC9 SURGERY");
  change.mutable_practice()->add_address_lines("1 HIGH\nSTREET");
  change.add_changed_fields("display_name");
  const std::string bytes = change.SerializeAsString();
  v1::Change plain;
  EXPECT_FALSE(plain.ParseFromString(bytes));  // why the registry broke: proto3 refuses it
  std::optional<std::string> fixed = RepairedMessageBytes(v1::Change::descriptor(), bytes);
  ASSERT_TRUE(fixed.has_value());
  v1::Change repaired;
  ASSERT_TRUE(repaired.ParseFromString(*fixed));
  EXPECT_EQ(repaired.practice().display_name(), kCafe);
  EXPECT_EQ(repaired.practice().address_lines(0), "1 HIGH STREET");
  EXPECT_EQ(repaired.changed_fields(0), "display_name");
  EXPECT_FALSE(RepairedMessageBytes(v1::Change::descriptor(), *fixed).has_value());  // clean
  EXPECT_FALSE(RepairedMessageBytes(v1::Change::descriptor(), "\xFF\xFF\xFF").has_value());
  v1::Change parsed;
  EXPECT_TRUE(ParseStored(bytes, parsed));
  EXPECT_EQ(parsed.practice().display_name(), kCafe);
}

TEST(TextImport, Latin1EpraccurRowIsReadAsWindows1252AndEveryReadPathWorks) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  auto report = env->Import(v1::IMPORT_KIND_EPRACCUR,
                            Row("J90001", {{1, "CAF\xC9 SURGERY"}}) + Row("J90002"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->added(), 2);
  EXPECT_EQ(report->windows_1252_rows(), 1);
  auto practice = env->Get("J90001");
  ASSERT_TRUE(practice.ok()) << practice.status();
  EXPECT_EQ(practice->display_name(), kCafe);

  grpc::ClientContext list_context;
  v1::ListPracticesRequest list;
  list.set_commissioner("11J");
  v1::ListPracticesResponse practices;
  ASSERT_TRUE(env->stub().ListPractices(&list_context, list, &practices).ok());
  EXPECT_EQ(practices.practices_size(), 2);

  grpc::ClientContext changes_context;
  v1::ListChangesRequest changes_request;
  v1::ListChangesResponse changes;
  ASSERT_TRUE(env->stub().ListChanges(&changes_context, changes_request, &changes).ok());
  ASSERT_EQ(changes.changes_size(), 2);
  EXPECT_EQ(changes.changes(0).practice().display_name(), kCafe);

  grpc::ClientContext watch_context;
  v1::WatchChangesRequest watch;
  auto reader = env->stub().WatchChanges(&watch_context, watch);
  v1::Change change;
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.sequence(), 1);
  ASSERT_TRUE(reader->Read(&change));
  EXPECT_EQ(change.sequence(), 2);
  watch_context.TryCancel();
}

TEST(TextImport, Latin1LocalitiesFileKeepsLocalitiesClustersAndSummaryReadable) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  auto report = env->Import(v1::IMPORT_KIND_LOCALITIES,
                            "locality_id,locality_name,cluster_id,cluster_name\n"
                            "caf,CAF\xC9 LOCALITY,nord,NORD \xC9TOILE\n"
                            "poole-bay,Poole Bay,nord,NORD \xC9TOILE\n");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->added(), 2);
  EXPECT_EQ(report->rejected(), 0);
  EXPECT_EQ(report->windows_1252_rows(), 2);

  grpc::ClientContext c1;
  v1::ListLocalitiesResponse localities;
  ASSERT_TRUE(env->stub().ListLocalities(&c1, v1::ListLocalitiesRequest(), &localities).ok());
  ASSERT_EQ(localities.localities_size(), 2);
  EXPECT_EQ(localities.localities(0).display_name(), "CAF\xC3\x89 LOCALITY");
  grpc::ClientContext c2;
  v1::ListClustersResponse clusters;
  ASSERT_TRUE(env->stub().ListClusters(&c2, v1::ListClustersRequest(), &clusters).ok());
  ASSERT_EQ(clusters.clusters_size(), 1);
  EXPECT_EQ(clusters.clusters(0).display_name(), "NORD \xC3\x89TOILE");
  grpc::ClientContext c3;
  v1::AreaSummary summary;
  ASSERT_TRUE(env->stub().GetAreaSummary(&c3, v1::GetAreaSummaryRequest(), &summary).ok());
  EXPECT_EQ(summary.localities_size(), 2);
}

TEST(TextImport, ControlCharactersAreRefusedWithTheRowNamed) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  auto report =
      env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90001", {{4, "1 HIGH\nSTREET"}}) + Row("J90002") +
                                                Row("J90003", {{1, "TAB\tSURGERY"}}));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->added(), 1);
  EXPECT_EQ(report->rejected(), 2);
  ASSERT_EQ(report->rejections_size(), 2);
  EXPECT_EQ(report->rejections(0).line(), 1);
  EXPECT_EQ(report->rejections(0).ods_code(), "J90001");
  EXPECT_EQ(report->rejections(0).reason(), "address line 1 contains a control character (U+000A)");
  EXPECT_EQ(report->rejections(1).line(), 4);  // the quoted line break moved it down a line
  EXPECT_EQ(report->rejections(1).reason(), "name contains a control character (U+0009)");
  EXPECT_EQ(env->Get("J90001").status().code(), absl::StatusCode::kNotFound);

  auto localities = env->Import(v1::IMPORT_KIND_LOCALITIES,
                                "locality_id,locality_name,cluster_id,cluster_name\n"
                                "a,\"A\nB\",c,C\n");
  ASSERT_TRUE(localities.ok()) << localities.status();
  EXPECT_EQ(localities->rejected(), 1);
  EXPECT_THAT(localities->rejections(0).reason(), HasSubstr("locality_name contains a control"));

  // The API refuses them too, naming the field.
  v1::Practice practice = NewPractice("J90010");
  practice.set_address_lines(0, "1 HIGH\r\nSTREET");
  auto created = env->Create(practice);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(created.status().message()), HasSubstr("practice.address_lines[0]"));
  practice = NewPractice("J90011", "NAME\x1b[31m");
  created = env->Create(practice);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(created.status().message()), HasSubstr("practice.display_name"));
  practice = NewPractice("J90012");
  practice.set_organisation_sub_type("B\n");
  EXPECT_EQ(env->Create(practice).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TextImport, ReportCountsEveryRecordIncludingMalformedOnes) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  ASSERT_TRUE(env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90001") + Row("J90003")).ok());
  // Three records; the second has a stray quote.
  auto report = env->Import(v1::IMPORT_KIND_EPRACCUR,
                            Row("J90001") + "\"J90002\",\"BAD\"QUOTE\",\"Y58\"\n" + Row("J90003"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rows_read(), 3);
  EXPECT_EQ(report->unchanged(), 2);
  EXPECT_EQ(report->rejected(), 1);
  EXPECT_TRUE(CheckReportArithmetic(*report).ok());
  // A non-UTF-8 first field: the report stays valid UTF-8 (the reply always decodes).
  auto odd = env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90004") + Row("\xFF\xFEJ9"));
  ASSERT_TRUE(odd.ok()) << odd.status();
  EXPECT_EQ(odd->added(), 1);
  EXPECT_EQ(odd->rejected(), 1);
  EXPECT_TRUE(IsValidUtf8(odd->rejections(0).ods_code()));
  EXPECT_TRUE(CheckReportArithmetic(*odd).ok());
}

// Issue 10 item 7: imports are capped (kMaxConcurrentImports = 2); one more is refused with
// RESOURCE_EXHAUSTED until one ends, and an upload that ends short of size_bytes is refused.
TEST(ImportLimits, AThirdConcurrentImportIsRefusedAndAShortUploadIsNotImported) {
  auto env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  v1::ImportFileRequest options_chunk;
  options_chunk.mutable_options()->set_kind(v1::IMPORT_KIND_EPRACCUR);
  grpc::ClientContext c1, c2;
  v1::ImportReport r1, r2;
  auto w1 = env->stub().ImportFile(&c1, &r1);
  auto w2 = env->stub().ImportFile(&c2, &r2);
  ASSERT_TRUE(w1->Write(options_chunk));
  ASSERT_TRUE(w2->Write(options_chunk));
  // Admitted imports send initial metadata at once: after these two waits both hold a slot.
  w1->WaitForInitialMetadata();
  w2->WaitForInitialMetadata();
  auto third = env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90009"), "", "", /*validate_only=*/true);
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted) << third.status();
  v1::ImportFileRequest data;
  data.set_data(Row("J90001"));
  ASSERT_TRUE(w1->Write(data));
  w1->WritesDone();
  ASSERT_TRUE(w1->Finish().ok());
  EXPECT_EQ(r1.added(), 1);
  w2->WritesDone();
  EXPECT_EQ(w2->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);  // no data: empty
  EXPECT_TRUE(env->Import(v1::IMPORT_KIND_EPRACCUR, Row("J90002")).ok());

  // size_bytes says 2 rows; only one arrives: nothing is imported.
  grpc::ClientContext c3;
  v1::ImportReport r3;
  auto w3 = env->stub().ImportFile(&c3, &r3);
  v1::ImportFileRequest chunk;
  chunk.mutable_options()->set_kind(v1::IMPORT_KIND_EPRACCUR);
  chunk.mutable_options()->set_size_bytes(static_cast<int64_t>(2 * Row("J90003").size()));
  chunk.set_data(Row("J90003"));
  ASSERT_TRUE(w3->Write(chunk));
  w3->WritesDone();
  const grpc::Status short_upload = w3->Finish();
  EXPECT_EQ(short_upload.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(short_upload.error_message(), HasSubstr("ended after"));
  EXPECT_EQ(env->Get("J90003").status().code(), absl::StatusCode::kNotFound);
}

// A store written by a registry from before the text checks: Latin-1 bytes inside the stored
// messages and columns. Raw SQL puts them there, as the old importer did.
TEST(TextRepair, MigrationRepairsBadRowsOnOpenAndNoReadPathFails) {
  dorset::testing::TempDir dir;
  const std::string path = dir.path() + "/registry.db";
  ASSERT_TRUE(Store::OpenFile(path).ok());
  {
    auto db = runtime::sqlite::Database::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    v1::Practice p = NewPractice("J90001", "CAF\xC9 SURGERY");
    p.set_name("practices/J90001");
    p.set_etag("r1");
    p.set_postcode("BH15 1AA");
    p.set_locality("localities/caf");
    p.set_list_size(1000);
    p.set_list_size_date("2021-01-01");
    v1::Change change;
    change.set_kind(v1::Change::KIND_PRACTICE_CREATED);
    change.set_resource("practices/J90001");
    change.set_source("import:epraccur");
    *change.mutable_practice() = p;
    v1::Change later;
    later.set_kind(v1::Change::KIND_LOCALITY_UPSERTED);
    later.set_resource("localities/caf");
    // Back to a pre-lane store of schema version 1 (its version in PRAGMA user_version, no
    // schema_migrations): undo steps 3 (import_seen), 4 (request_hash), 5 (the change counter)
    // 6 (the idempotency record; version 1's request table back), 7 (the name search index),
    // 9 (its queue within an import) and 10 (version 1's practice_by_status back), so that
    // opening runs the pre-lane steps 2-4 (storage/legacy_sqlite.h) and then the lane's steps
    // 5-10 (8 remakes 7's index under the same names, 9 its triggers).
    ASSERT_TRUE(
        (*db)
            ->Exec("DROP TRIGGER practice_search_insert; DROP TRIGGER "
                   "practice_search_update; DROP TRIGGER practice_search_delete; "
                   "DROP TABLE practice_search; DROP TABLE practice_search_row;"
                   "DROP TABLE practice_search_deferred; DROP TABLE practice_search_pending;"
                   "DROP TABLE import_seen; DROP VIEW idempotency_records;"
                   "DROP TABLE idempotency_log; DROP TABLE idempotency_record;"
                   "CREATE TABLE request (request_id TEXT PRIMARY KEY, method TEXT NOT "
                   "NULL, response BLOB NOT NULL, create_time INTEGER NOT NULL) "
                   "WITHOUT ROWID;"
                   "DROP TABLE change_sequence; DROP TABLE schema_migrations;"
                   "DROP INDEX practice_by_status_name;"
                   "CREATE INDEX practice_by_status ON practice(status, ods_code);"
                   "PRAGMA user_version = 1;")
            .ok());
    ASSERT_TRUE((*db)
                    ->Exec("INSERT INTO cluster VALUES ('nord', 'NORD \xC9TOILE', 0, 0);"
                           "INSERT INTO locality VALUES ('caf', 'CAF\xC9 LOCALITY', 'nord', 0, 0);")
                    .ok());
    auto insert = (*db)->Prepare(
        "INSERT INTO practice (ods_code, display_name, postcode_key, status, "
        "prescribing_setting, commissioner, locality_id, list_size, update_time, revision, data) "
        "VALUES ('J90001', ?, 'BH151AA', 1, 4, '11J', 'caf', 1000, 0, 1, ?)");
    ASSERT_TRUE(insert.ok());
    insert->Bind(1, std::string("CAF\xC9 SURGERY")).BindBlob(2, p.SerializeAsString());
    ASSERT_TRUE(insert->Run().ok());
    auto changes = (*db)->Prepare(
        "INSERT INTO change (kind, resource, commit_time, source, actor, payload) VALUES "
        "(?, ?, 0, 'import:epraccur', 'test', ?)");
    ASSERT_TRUE(changes.ok());
    changes->Bind(1, 1).Bind(2, "practices/J90001").BindBlob(3, change.SerializeAsString());
    ASSERT_TRUE(changes->Run().ok());
    changes->Reset();
    changes->Bind(1, 5).Bind(2, "localities/caf").BindBlob(3, later.SerializeAsString());
    ASSERT_TRUE(changes->Run().ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO practice_revision VALUES ('J90001', 1, 1)").ok());
  }
  auto env = RegistryEnv::Start({}, dir.path());  // opens: migration 2 repairs
  ASSERT_NE(env, nullptr);
  {
    auto db = runtime::sqlite::Database::Open(path);
    ASSERT_TRUE(db.ok());
    auto stmt = (*db)->Prepare("SELECT display_name FROM practice WHERE ods_code = 'J90001'");
    ASSERT_TRUE(stmt.ok() && *stmt->Step());
    EXPECT_EQ(stmt->Text(0), kCafe);  // repaired in place, not just on reading
    // Rows written around the store after the migration still never fail a read: one with
    // Latin-1 text and one whose message is not readable at all, and such a change.
    v1::Practice p = NewPractice("J90002", "SECOND CAF\xC9");
    p.set_name("practices/J90002");
    p.set_etag("r1");
    auto insert = (*db)->Prepare(
        "INSERT INTO practice (ods_code, display_name, postcode_key, status, "
        "prescribing_setting, commissioner, locality_id, list_size, update_time, revision, data) "
        "VALUES (?, ?, 'BH151AA', 1, 4, '11J', NULL, NULL, 0, 1, ?)");
    ASSERT_TRUE(insert.ok());
    insert->Bind(1, "J90002").Bind(2, "SECOND").BindBlob(3, p.SerializeAsString());
    ASSERT_TRUE(insert->Run().ok());
    insert->Reset();
    insert->Bind(1, "J90003").Bind(2, "DAMAGED").BindBlob(3, std::string("\xFF\xFF\xFF", 3));
    ASSERT_TRUE(insert->Run().ok());
    ASSERT_TRUE((*db)
                    ->Exec("INSERT INTO change (kind, resource, commit_time, source, actor, "
                           "payload) VALUES (1, 'practices/J90003', 0, 'api', 'x', x'FFFFFF')")
                    .ok());
  }
  auto practice = env->Get("J90001");
  ASSERT_TRUE(practice.ok()) << practice.status();
  EXPECT_EQ(practice->display_name(), kCafe);
  EXPECT_EQ(env->Get("J90002")->display_name(), "SECOND CAF\xC3\x89");
  auto damaged = env->Get("J90003");
  ASSERT_TRUE(damaged.ok()) << damaged.status();
  EXPECT_EQ(damaged->display_name(), "DAMAGED");

  grpc::ClientContext c1;
  v1::ListPracticesRequest list;
  list.set_commissioner("11J");
  v1::ListPracticesResponse practices;
  ASSERT_TRUE(env->stub().ListPractices(&c1, list, &practices).ok());
  EXPECT_EQ(practices.practices_size(), 3);
  // Step 7 indexed the names as step 2 repaired them: the name search finds the practice.
  grpc::ClientContext c_search;
  list.set_name_contains("af\xC3\x89 sur");
  ASSERT_TRUE(env->stub().ListPractices(&c_search, list, &practices).ok());
  ASSERT_EQ(practices.practices_size(), 1);
  EXPECT_EQ(practices.practices(0).ods_code(), "J90001");
  list.clear_name_contains();

  grpc::ClientContext c2;
  v1::ListChangesResponse changes;
  ASSERT_TRUE(env->stub().ListChanges(&c2, v1::ListChangesRequest(), &changes).ok());
  ASSERT_EQ(changes.changes_size(), 3);  // gap-free: 1, 2, 3
  for (int i = 0; i < 3; ++i) EXPECT_EQ(changes.changes(i).sequence(), i + 1);
  EXPECT_EQ(changes.changes(0).practice().display_name(), kCafe);
  EXPECT_EQ(changes.changes(2).resource(), "practices/J90003");

  grpc::ClientContext c3;
  v1::WatchChangesRequest watch;
  auto reader = env->stub().WatchChanges(&c3, watch);
  v1::Change change;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(reader->Read(&change));
    EXPECT_EQ(change.sequence(), i);
  }
  c3.TryCancel();

  grpc::ClientContext c4;
  v1::ListLocalitiesResponse localities;
  ASSERT_TRUE(env->stub().ListLocalities(&c4, v1::ListLocalitiesRequest(), &localities).ok());
  ASSERT_EQ(localities.localities_size(), 1);
  EXPECT_EQ(localities.localities(0).display_name(), "CAF\xC3\x89 LOCALITY");
  grpc::ClientContext c5;
  v1::ListClustersResponse clusters;
  ASSERT_TRUE(env->stub().ListClusters(&c5, v1::ListClustersRequest(), &clusters).ok());
  EXPECT_EQ(clusters.clusters(0).display_name(), "NORD \xC3\x89TOILE");
  grpc::ClientContext c6;
  v1::AreaSummary summary;
  ASSERT_TRUE(env->stub().GetAreaSummary(&c6, v1::GetAreaSummaryRequest(), &summary).ok());
  EXPECT_EQ(summary.practice_count(), 3);
  grpc::ClientContext c7;
  v1::ListPracticeRevisionsRequest revisions_request;
  revisions_request.set_name("practices/J90001");
  v1::ListPracticeRevisionsResponse revisions;
  ASSERT_TRUE(env->stub().ListPracticeRevisions(&c7, revisions_request, &revisions).ok());
  EXPECT_EQ(revisions.revisions(0).practice().display_name(), kCafe);
}

}  // namespace
}  // namespace dorset::registry::testing
