// Bulk theme coding through the API with real tokens: the preview changes nothing and names what
// would change (never the text), applying needs the preview's token and refuses when the
// responses changed since, the themes land with their counters, and who coded what is recorded.
#include "services/engagement/domain/theme_coding.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "services/engagement/storage/store.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

constexpr char kEditor[] = "tok-editor";
constexpr char kReader[] = "tok-reader";
constexpr char kModerator[] = "tok-moderator";
constexpr char kAdmin[] = "tok-admin";

TEST(ContainsWordTest, WholeWordsOnly) {
  EXPECT_TRUE(ContainsWord("more buses please", "buses"));
  EXPECT_TRUE(ContainsWord("buses, please", "buses"));
  EXPECT_TRUE(ContainsWord("the a&e wait", "a&e"));
  EXPECT_FALSE(ContainsWord("omnibuses", "buses"));
  EXPECT_FALSE(ContainsWord("busesx", "buses"));
  EXPECT_TRUE(ContainsWord("no parking space", "parking space"));
}

class ThemeCodingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::ServerConfig config = dorset::testing::TestServerConfig("engagement", dir_.path());
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = tokens_.File("tokens");
    dorset::testing::WriteTokensFile(config.tokens_file,
                                     {{kEditor, "coder", "engagement-editor"},
                                      {kReader, "reader", "reader"},
                                      {kModerator, "moderator", "engagement-editor"},
                                      {kAdmin, "admin", "admin"}});
    server_.Start(config);
    MakeActivity(stub(), "hosp", kEditor);
    MakeTheme(stub(), "hosp", "travel", kEditor);
    MakeTheme(stub(), "hosp", "parking", kEditor);
    ASSERT_TRUE(Open(stub(), "hosp", kEditor).ok());
    for (const char* text : {"Travel to Poole is hard", "No PARKING at all", "fine as it is",
                             "travel and parking both bad"}) {
      v1::Response out;
      ASSERT_TRUE(Respond(stub(), "hosp",
                          ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}, text), &out,
                          kEditor)
                      .ok());
    }
  }
  void TearDown() override {
    if (server_.host) server_.host->Shutdown();
  }
  v1::EngagementService::Stub& stub() { return *server_.stub; }
  template <typename Request>
  void Rules(Request& request) {
    request.set_parent("activities/hosp");
    v1::ThemeRule* travel = request.add_rules();
    travel->set_theme("activities/hosp/themes/travel");
    travel->add_keywords("travel");
    travel->add_keywords("bus");
    v1::ThemeRule* parking = request.add_rules();
    parking->set_theme("activities/hosp/themes/parking");
    parking->add_keywords("parking");
  }
  int64_t ThemeCount(const std::string& theme) {
    v1::GetActivityAggregatesRequest request;
    request.set_name("activities/hosp/aggregates");
    v1::ActivityAggregates out;
    EXPECT_TRUE(stub().GetActivityAggregates(Ctx(kReader).get(), request, &out).ok());
    for (const auto& c : out.by_theme()) {
      if (c.key() == theme) return c.responses();
    }
    return 0;
  }

  dorset::testing::TempDir dir_, tokens_;
  EngagementServer server_;
};

TEST_F(ThemeCodingTest, PreviewThenApplyRecordsWhoCodedWhat) {
  v1::PreviewThemeCodingRequest preview;
  Rules(preview);
  v1::ThemeCodingPreview previewed;
  // Readers may not probe response text with rules.
  EXPECT_EQ(stub().PreviewThemeCoding(Ctx(kReader).get(), preview, &previewed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub().PreviewThemeCoding(Ctx(kEditor).get(), preview, &previewed).ok());
  EXPECT_EQ(previewed.responses_examined(), 4);
  EXPECT_EQ(previewed.responses_to_change(), 3);
  ASSERT_EQ(previewed.effects_size(), 2);
  EXPECT_EQ(previewed.effects(0).to_add(), 2);                // travel
  EXPECT_EQ(previewed.effects(1).to_add(), 2);                // parking
  EXPECT_EQ(ThemeCount("activities/hosp/themes/travel"), 0);  // nothing changed yet

  v1::ApplyThemeCodingRequest apply;
  Rules(apply);
  apply.set_preview_token("0000000000000000");
  v1::ThemeCoding coding;
  EXPECT_EQ(stub().ApplyThemeCoding(Ctx(kEditor).get(), apply, &coding).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // A response arriving after the preview makes it stale.
  v1::Response late;
  ASSERT_TRUE(Respond(stub(), "hosp",
                      ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}, "bus please"),
                      &late, kEditor)
                  .ok());
  apply.set_preview_token(previewed.preview_token());
  EXPECT_EQ(stub().ApplyThemeCoding(Ctx(kEditor).get(), apply, &coding).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(stub().PreviewThemeCoding(Ctx(kEditor).get(), preview, &previewed).ok());
  EXPECT_EQ(previewed.responses_to_change(), 4);
  apply.set_preview_token(previewed.preview_token());
  ASSERT_TRUE(stub().ApplyThemeCoding(Ctx(kEditor).get(), apply, &coding).ok());
  EXPECT_EQ(coding.responses_changed(), 4);
  EXPECT_EQ(coding.coded_by(), "coder");
  EXPECT_EQ(coding.name(), "activities/hosp/themeCodings/1");
  EXPECT_EQ(ThemeCount("activities/hosp/themes/travel"), 3);
  EXPECT_EQ(ThemeCount("activities/hosp/themes/parking"), 2);

  // Applied once: a second preview has nothing to add.
  ASSERT_TRUE(stub().PreviewThemeCoding(Ctx(kEditor).get(), preview, &previewed).ok());
  EXPECT_EQ(previewed.responses_to_change(), 0);

  v1::ListThemeCodingsRequest list;
  list.set_parent("activities/hosp");
  v1::ListThemeCodingsResponse listed;
  ASSERT_TRUE(stub().ListThemeCodings(Ctx(kReader).get(), list, &listed).ok());
  ASSERT_EQ(listed.theme_codings_size(), 1);
  EXPECT_EQ(listed.theme_codings(0).coded_by(), "coder");
  EXPECT_EQ(listed.theme_codings(0).rules_size(), 2);

  // A rule naming a theme that does not exist names the field.
  preview.mutable_rules(0)->set_theme("activities/hosp/themes/nope");
  EXPECT_EQ(stub().PreviewThemeCoding(Ctx(kEditor).get(), preview, &previewed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Apply is one transaction: when the write of the last changed response fails (a trigger planted
// in the database refuses it), no response, counter or coding record is left changed; once it
// is removed the same reviewed token applies, and a retry with the same request_id answers with
// the first call's coding without coding anything twice.
TEST_F(ThemeCodingTest, ApplyIsAllOrNothingAndARetryAnswersTheFirstCoding) {
  v1::PreviewThemeCodingRequest preview;
  Rules(preview);
  v1::ThemeCodingPreview previewed;
  ASSERT_TRUE(stub().PreviewThemeCoding(Ctx(kEditor).get(), preview, &previewed).ok());
  ASSERT_EQ(previewed.responses_to_change(), 3);

  v1::ListResponsesRequest list_responses;
  list_responses.set_parent("activities/hosp");
  v1::ListResponsesResponse responses;
  ASSERT_TRUE(stub().ListResponses(Ctx(kEditor).get(), list_responses, &responses).ok());
  ASSERT_EQ(responses.responses_size(), 4);
  const std::string last = responses.responses(3).name();  // "travel and parking both bad"
  const std::string last_id = last.substr(last.rfind('/') + 1);

  absl::StatusOr<std::string> database = dorset::testing::TestDatabaseFor(dir_.path());
  ASSERT_TRUE(database.ok()) << database.status();
  auto store = EngagementStore::Open(*database, dir_.path());
  ASSERT_TRUE(store.ok()) << store.status();
  const bool postgres = (*store)->engine() == runtime::storage::Engine::kPostgres;
  auto exec = [&](const std::string& sql) {
    return (*store)->Write([&](runtime::storage::Transaction& tx) { return tx.Exec(sql); });
  };
  ASSERT_TRUE(
      exec(postgres
               ? absl::StrCat("CREATE FUNCTION sabotage() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN RAISE EXCEPTION 'sabotaged'; END $$; "
                              "CREATE TRIGGER sabotage BEFORE UPDATE ON response FOR EACH ROW "
                              "WHEN (NEW.id = ",
                              last_id, ") EXECUTE FUNCTION sabotage()")
               : absl::StrCat("CREATE TRIGGER sabotage BEFORE UPDATE ON response WHEN NEW.id = ",
                              last_id, " BEGIN SELECT RAISE(ABORT, 'sabotaged'); END"))
          .ok());

  v1::ApplyThemeCodingRequest apply;
  Rules(apply);
  apply.set_preview_token(previewed.preview_token());
  apply.set_request_id("0b7f0f5e-5b0e-4c35-9d0e-3a1c2f4e6a70");
  v1::ThemeCoding coding;
  EXPECT_FALSE(stub().ApplyThemeCoding(Ctx(kEditor).get(), apply, &coding).ok());
  EXPECT_EQ(ThemeCount("activities/hosp/themes/travel"), 0);
  EXPECT_EQ(ThemeCount("activities/hosp/themes/parking"), 0);
  responses.Clear();
  ASSERT_TRUE(stub().ListResponses(Ctx(kEditor).get(), list_responses, &responses).ok());
  for (const v1::Response& r : responses.responses()) EXPECT_EQ(r.themes_size(), 0) << r.name();
  v1::ListThemeCodingsRequest list;
  list.set_parent("activities/hosp");
  v1::ListThemeCodingsResponse listed;
  ASSERT_TRUE(stub().ListThemeCodings(Ctx(kReader).get(), list, &listed).ok());
  EXPECT_EQ(listed.theme_codings_size(), 0);

  ASSERT_TRUE(exec("DROP TRIGGER sabotage" + std::string(postgres ? " ON response" : "")).ok());
  ASSERT_TRUE(stub().ApplyThemeCoding(Ctx(kEditor).get(), apply, &coding).ok());
  EXPECT_EQ(coding.responses_changed(), 3);
  EXPECT_EQ(coding.name(), "activities/hosp/themeCodings/1");
  // The retry (say the reply was lost): the same coding, nothing coded twice.
  v1::ThemeCoding again;
  ASSERT_TRUE(stub().ApplyThemeCoding(Ctx(kEditor).get(), apply, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), coding.SerializeAsString());
  EXPECT_EQ(ThemeCount("activities/hosp/themes/travel"), 2);
  EXPECT_EQ(ThemeCount("activities/hosp/themes/parking"), 2);
  listed.Clear();
  ASSERT_TRUE(stub().ListThemeCodings(Ctx(kReader).get(), list, &listed).ok());
  EXPECT_EQ(listed.theme_codings_size(), 1);
  // The same id for another request is refused, never answered with this coding.
  apply.mutable_rules(1)->add_keywords("car park");
  EXPECT_EQ(stub().ApplyThemeCoding(Ctx(kEditor).get(), apply, &again).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

// Who coded what: every theme on a response records who assigned it, when and how — given with
// the response (the submitter, withheld from callers without personal_data.read), added by hand
// (UpdateResponse) or by a rule of a bulk coding (that coding and rule) — through the API, the
// responses CSV and the real dorsetctl.
TEST_F(ThemeCodingTest, EveryThemeRecordsWhoAssignedItWhenAndHow) {
  // Given with the response by the editor ("coder").
  v1::Response given;
  ASSERT_TRUE(Respond(stub(), "hosp",
                      ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "",
                                 {"activities/hosp/themes/travel"}, "the bus is late"),
                      &given, kEditor)
                  .ok());
  ASSERT_EQ(given.theme_assignments_size(), 1);
  EXPECT_EQ(given.theme_assignments(0).method(), v1::THEME_ASSIGNMENT_METHOD_ON_CREATION);
  EXPECT_EQ(given.theme_assignments(0).theme(), "activities/hosp/themes/travel");
  // The submitter is withheld from callers without personal_data.read (the editor too).
  EXPECT_EQ(given.theme_assignments(0).assigned_by(), "");
  EXPECT_TRUE(given.theme_assignments(0).has_assign_time());

  // Added by hand by the moderator to "fine as it is" (response 3).
  v1::UpdateResponseRequest update;
  update.mutable_response()->set_name("activities/hosp/responses/3");
  update.mutable_response()->add_themes("activities/hosp/themes/parking");
  update.mutable_update_mask()->add_paths("themes");
  v1::Response moderated;
  ASSERT_TRUE(stub().UpdateResponse(Ctx(kModerator).get(), update, &moderated).ok());
  ASSERT_EQ(moderated.theme_assignments_size(), 1);
  EXPECT_EQ(moderated.theme_assignments(0).method(), v1::THEME_ASSIGNMENT_METHOD_BY_HAND);
  EXPECT_EQ(moderated.theme_assignments(0).assigned_by(), "moderator");

  // Coded by rule by the editor.
  v1::PreviewThemeCodingRequest preview;
  Rules(preview);
  v1::ThemeCodingPreview previewed;
  ASSERT_TRUE(stub().PreviewThemeCoding(Ctx(kEditor).get(), preview, &previewed).ok());
  v1::ApplyThemeCodingRequest apply;
  Rules(apply);
  apply.set_preview_token(previewed.preview_token());
  v1::ThemeCoding coding;
  ASSERT_TRUE(stub().ApplyThemeCoding(Ctx(kEditor).get(), apply, &coding).ok());
  ASSERT_EQ(coding.name(), "activities/hosp/themeCodings/1");

  auto get = [&](const std::string& token, int n) {
    v1::GetResponseRequest request;
    request.set_name(absl::StrCat("activities/hosp/responses/", n));
    v1::Response out;
    EXPECT_TRUE(stub().GetResponse(Ctx(token).get(), request, &out).ok());
    return out;
  };
  // "travel and parking both bad" (4): travel by rule 1, parking by rule 2, of coding 1.
  v1::Response both = get(kEditor, 4);
  ASSERT_EQ(both.theme_assignments_size(), 2);
  for (int i = 0; i < 2; ++i) {
    const v1::ThemeAssignment& a = both.theme_assignments(i);
    EXPECT_EQ(a.theme(), both.themes(i));
    EXPECT_EQ(a.method(), v1::THEME_ASSIGNMENT_METHOD_CODING_RULE);
    EXPECT_EQ(a.assigned_by(), "coder");
    EXPECT_EQ(a.theme_coding(), coding.name());
    EXPECT_EQ(a.rule_number(), a.theme() == "activities/hosp/themes/travel" ? 1 : 2);
    EXPECT_EQ(a.assign_time().seconds(), coding.apply_time().seconds());
  }
  // The hand-coded parking on 3 stays the moderator's; the given travel on 5 the submitter's,
  // and a reader without personal_data.read does not see who submitted it (the coders, yes).
  EXPECT_EQ(get(kReader, 3).theme_assignments(0).assigned_by(), "moderator");
  v1::Response read = get(kReader, 5);
  ASSERT_EQ(read.theme_assignments_size(), 1);
  EXPECT_EQ(read.theme_assignments(0).method(), v1::THEME_ASSIGNMENT_METHOD_ON_CREATION);
  EXPECT_EQ(read.theme_assignments(0).assigned_by(), "");
  EXPECT_EQ(get(kAdmin, 5).theme_assignments(0).assigned_by(), "coder");

  // A theme removed by hand loses its record; the one kept keeps its first assigner.
  update.mutable_response()->set_name("activities/hosp/responses/4");
  update.mutable_response()->clear_themes();
  update.mutable_response()->add_themes("activities/hosp/themes/parking");
  ASSERT_TRUE(stub().UpdateResponse(Ctx(kModerator).get(), update, &moderated).ok());
  ASSERT_EQ(moderated.theme_assignments_size(), 1);
  EXPECT_EQ(moderated.theme_assignments(0).method(), v1::THEME_ASSIGNMENT_METHOD_CODING_RULE);
  EXPECT_EQ(moderated.theme_assignments(0).assigned_by(), "coder");

  // The responses CSV names them, for the reader without the submitter.
  v1::ExportCsvRequest csv_request;
  csv_request.set_parent("activities/hosp");
  csv_request.set_table(v1::CSV_TABLE_RESPONSES);
  auto context = Ctx(kReader);
  auto reader = stub().ExportCsv(context.get(), csv_request);
  v1::CsvChunk chunk;
  std::string csv;
  while (reader->Read(&chunk)) csv += chunk.data();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_THAT(csv, ::testing::HasSubstr(",themes,theme_assignments,anonymised,"));
  EXPECT_THAT(csv, ::testing::HasSubstr("parking by hand by moderator at "));
  EXPECT_THAT(csv, ::testing::HasSubstr("travel by rule 1 of themeCodings/1 by coder at "));
  EXPECT_THAT(csv, ::testing::HasSubstr("travel given with the response at "));
  EXPECT_THAT(csv, ::testing::Not(::testing::HasSubstr("given with the response by coder")));

  // dorsetctl shows them where it shows responses.
  const std::string out = dir_.path() + "/responses.json";
  ASSERT_EQ(std::system(absl::StrCat(DORSET_CTL_BINARY,
                                     " engagement list-responses hosp --target=127.0.0.1:",
                                     server_.host->grpc_port(), " --token=", kEditor, " >", out)
                            .c_str()),
            0);
  std::ifstream file(out);
  const std::string listed((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
  EXPECT_THAT(listed, ::testing::HasSubstr("\"themeAssignments\""));
  EXPECT_THAT(listed, ::testing::HasSubstr("THEME_ASSIGNMENT_METHOD_CODING_RULE"));
  EXPECT_THAT(listed, ::testing::HasSubstr("\"themeCoding\":\"activities/hosp/themeCodings/1\""));
}

// The real dorsetctl previews and applies in one command.
TEST_F(ThemeCodingTest, CliPreviewsAndApplies) {
  ASSERT_EQ(std::system(absl::StrCat(DORSET_CTL_BINARY,
                                     " engagement code-themes hosp "
                                     "--rules='travel=travel|bus;parking=parking' --apply "
                                     "--target=127.0.0.1:",
                                     server_.host->grpc_port(), " --token=", kEditor, " >/dev/null")
                            .c_str()),
            0);
  EXPECT_EQ(ThemeCount("activities/hosp/themes/travel"), 2);
  EXPECT_EQ(ThemeCount("activities/hosp/themes/parking"), 2);
}

}  // namespace
}  // namespace dorset::engagement::testing
