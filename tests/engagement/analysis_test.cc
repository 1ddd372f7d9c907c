// Engagement's analysis exports through the API with real tokens: responses and aggregates as
// CSV (CRLF, byte order mark on request, injection cells neutralised, text redacted for readers)
// and the consultation report as HTML (counts, themes by title, decisions; no response text).
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kEditor[] = "tok-editor";
constexpr char kReader[] = "tok-reader";
constexpr char kPersonal[] = "tok-personal";
constexpr char kPrivate[] = "=HYPERLINK(\"http://evil\",\"my private words 4471\")";

class AnalysisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::ServerConfig config = dorset::testing::TestServerConfig("engagement", dir_.path());
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = tokens_.File("tokens");
    dorset::testing::WriteTokensFile(config.tokens_file,
                                     {{kEditor, "editor", "engagement-editor"},
                                      {kReader, "reader", "reader"},
                                      {kPersonal, "dpo", "personal-data-reader"}});
    server_.Start(config);
    MakeActivity(stub(), "buses", kEditor);
    MakeTheme(stub(), "buses", "transport", kEditor);
    ASSERT_TRUE(Open(stub(), "buses", kEditor).ok());
    v1::Response out;
    // No publish consent: the text is personal data.
    ASSERT_TRUE(Respond(stub(), "buses",
                        ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_OPPOSED, "",
                                   {"activities/buses/themes/transport"}, kPrivate),
                        &out, kEditor)
                    .ok());
    v1::Response published =
        ResponseOf(v1::CHANNEL_LETTER, v1::SENTIMENT_SUPPORTIVE, "",
                   {"activities/buses/themes/transport"}, "-more buses, please");
    published.set_publish_consent(true);
    ASSERT_TRUE(Respond(stub(), "buses", published, &out, kEditor).ok());
    v1::CreateDecisionRequest decision;
    decision.set_parent("activities/buses");
    decision.mutable_decision()->set_summary("Run the X51 <hourly> & later");
    decision.mutable_decision()->add_themes("activities/buses/themes/transport");
    v1::Decision made;
    ASSERT_TRUE(stub().CreateDecision(Ctx(kEditor).get(), decision, &made).ok());
  }
  void TearDown() override {
    if (server_.host) server_.host->Shutdown();
  }
  v1::EngagementService::Stub& stub() { return *server_.stub; }

  grpc::Status Csv(v1::CsvTable table, bool bom, const std::string& token, std::string* out) {
    v1::ExportCsvRequest request;
    request.set_parent("activities/buses");
    request.set_table(table);
    request.set_byte_order_mark(bom);
    auto context = Ctx(token);
    auto reader = stub().ExportCsv(context.get(), request);
    v1::CsvChunk chunk;
    out->clear();
    while (reader->Read(&chunk)) *out += chunk.data();
    return reader->Finish();
  }

  dorset::testing::TempDir dir_, tokens_;
  EngagementServer server_;
};

TEST_F(AnalysisTest, ResponsesCsvIsHardenedAndRedactedForReaders) {
  std::string csv;
  ASSERT_TRUE(Csv(v1::CSV_TABLE_RESPONSES, /*bom=*/true, kPersonal, &csv).ok());
  EXPECT_TRUE(csv.starts_with("\xEF\xBB\xBFresponse,create_time,"));
  EXPECT_THAT(csv, HasSubstr("\r\n"));
  // The formula is neutralised (a leading apostrophe inside the quoted cell), never raw.
  EXPECT_THAT(csv, HasSubstr("\"'=HYPERLINK(\"\"http://evil\"\""));
  EXPECT_THAT(csv, Not(HasSubstr(",=HYPERLINK")));
  EXPECT_THAT(csv, HasSubstr(",\"'-more buses, please\"\r\n"));
  EXPECT_THAT(csv, HasSubstr(",OPPOSED,"));
  EXPECT_THAT(csv, HasSubstr("transport"));
  // ISO 8601 times.
  EXPECT_THAT(csv, ::testing::ContainsRegex(",20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]+Z,"));

  ASSERT_TRUE(Csv(v1::CSV_TABLE_RESPONSES, /*bom=*/false, kReader, &csv).ok());
  EXPECT_TRUE(csv.starts_with("response,"));
  EXPECT_THAT(csv, Not(HasSubstr("my private words 4471")));
  EXPECT_THAT(csv, HasSubstr("more buses, please"));  // consented text stays
  EXPECT_THAT(csv, HasSubstr(",true,"));              // personal_data_redacted
}

TEST_F(AnalysisTest, AggregatesCsvCountsEveryDimension) {
  std::string csv;
  ASSERT_TRUE(Csv(v1::CSV_TABLE_AGGREGATES, false, kReader, &csv).ok());
  EXPECT_THAT(csv, HasSubstr("dimension,key,responses\r\ntotal,,2\r\n"));
  EXPECT_THAT(csv, HasSubstr("theme,activities/buses/themes/transport,2\r\n"));
  EXPECT_THAT(csv, HasSubstr("sentiment,OPPOSED,1\r\n"));
  EXPECT_THAT(csv, HasSubstr("channel,LETTER,1\r\n"));
}

TEST_F(AnalysisTest, CsvRefusesBadRequests) {
  std::string csv;
  EXPECT_EQ(Csv(v1::CSV_TABLE_UNSPECIFIED, false, kReader, &csv).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ExportCsvRequest request;
  request.set_parent("activities/nope");
  request.set_table(v1::CSV_TABLE_AGGREGATES);
  auto context = Ctx(kReader);
  auto reader = stub().ExportCsv(context.get(), request);
  v1::CsvChunk chunk;
  while (reader->Read(&chunk)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Csv(v1::CSV_TABLE_AGGREGATES, false, "", &csv).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AnalysisTest, ConsultationReportIsAnHtmlDocumentWithoutPersonalData) {
  v1::GetConsultationReportRequest request;
  request.set_name("activities/buses/consultationReport");
  v1::ConsultationReport report;
  ASSERT_TRUE(stub().GetConsultationReport(Ctx(kReader).get(), request, &report).ok());
  EXPECT_EQ(report.name(), "activities/buses/consultationReport");
  const std::string& html = report.html();
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("Responses recorded: 2."));
  EXPECT_THAT(html, HasSubstr("<td>Theme transport</td><td>2</td>"));
  EXPECT_THAT(html, HasSubstr("<td>OPPOSED</td><td>1</td>"));
  EXPECT_THAT(html, HasSubstr("<td>LETTER</td><td>1</td>"));
  EXPECT_THAT(html, HasSubstr("Run the X51 &lt;hourly&gt; &amp; later"));
  EXPECT_THAT(html, HasSubstr("PLANNED"));
  EXPECT_THAT(html, Not(HasSubstr("my private words")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  request.set_name("activities/buses/aggregates");
  EXPECT_EQ(stub().GetConsultationReport(Ctx(kReader).get(), request, &report).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// The real dorsetctl: export-csv to standard output and report --out=FILE.
TEST_F(AnalysisTest, CliWritesCsvAndReport) {
  const std::string target =
      absl::StrCat(" --target=127.0.0.1:", server_.host->grpc_port(), " --token=", kReader);
  std::string out;
  FILE* pipe = popen(absl::StrCat(DORSET_CTL_BINARY,
                                  " engagement export-csv buses "
                                  "--table=aggregates --bom",
                                  target, " 2>/dev/null")
                         .c_str(),
                     "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0);
  EXPECT_TRUE(
      out.starts_with("\xEF\xBB\xBF"
                      "dimension,key,responses\r\ntotal,,2\r\n"))
      << out;

  const std::string report = absl::StrCat(dir_.path(), "/report.html");
  EXPECT_EQ(
      std::system(absl::StrCat(DORSET_CTL_BINARY, " engagement report buses --out=", report, target)
                      .c_str()),
      0);
  std::ifstream in(report);
  std::stringstream html;
  html << in.rdbuf();
  EXPECT_THAT(html.str(), HasSubstr("Responses recorded: 2."));
  // A bad table is refused before any call.
  EXPECT_NE(std::system(absl::StrCat(DORSET_CTL_BINARY,
                                     " engagement export-csv buses "
                                     "--table=nope",
                                     target, " 2>/dev/null")
                            .c_str()),
            0);
}

}  // namespace
}  // namespace dorset::engagement::testing
