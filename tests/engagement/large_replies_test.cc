// Long legitimate replies: 300 responses of 19 KB (5.7 MB, more than the 4 MiB message limit)
// come back whole from ListResponses (page_size 1000), ExportResponses (default chunk) and the
// real `dorsetctl engagement export`, because pages and chunks end at a byte budget as well as
// at a count. And an export cut short resumes with `start_after` exactly where it stopped.
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "runtime/api/reply_budget.h"
#include "runtime/server/stream_writer.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

using ::grpc::StatusCode;
using ::testing::HasSubstr;

constexpr int kResponses = 300;
constexpr size_t kTextBytes = 19 * 1024;

std::string LongText(int i) {
  std::string text = absl::StrCat("Response ", i, ": ");
  while (text.size() < kTextBytes) text += "the surgery should open on Saturday mornings. ";
  text.resize(kTextBytes);
  return text;
}

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class LargeRepliesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<EngagementServer>();
    server_->Start(dorset::testing::TestServerConfig("engagement", dir_.path()));
    MakeActivity(stub(), "long-views");
    ASSERT_TRUE(Open(stub(), "long-views").ok());
    for (int i = 0; i < kResponses; ++i) {
      v1::Response out;
      grpc::Status status =
          Respond(stub(), "long-views",
                  ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}, LongText(i)), &out);
      ASSERT_TRUE(status.ok()) << status.error_message();
      names_.push_back(out.name());
    }
  }
  v1::EngagementService::Stub& stub() { return *server_->stub; }

  // Reads an export to its end: the names received (in order) and the final status.
  grpc::Status Export(v1::ExportResponsesRequest request, std::vector<std::string>* names,
                      int* chunks = nullptr) {
    auto context = Ctx();
    auto reader = stub().ExportResponses(context.get(), request);
    v1::ExportResponsesChunk chunk;
    while (reader->Read(&chunk)) {
      if (chunks != nullptr) ++*chunks;
      EXPECT_LE(chunk.ByteSizeLong(), runtime::kDefaultClientReceiveBytes);
      for (const auto& r : chunk.responses()) names->push_back(r.name());
    }
    return reader->Finish();
  }

  // Runs the real `dorsetctl engagement <args>` against the server.
  Result Ctl(const std::string& args) {
    const std::string err_path = absl::StrCat(dir_.path(), "/ctl.err");
    const std::string command =
        absl::StrCat(DORSET_CTL_BINARY, " engagement ", args,
                     " --target=127.0.0.1:", server_->host->grpc_port(), " 2>", err_path);
    Result result;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[65536];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (FILE* err = fopen(err_path.c_str(), "r")) {
      while ((n = fread(buffer, 1, sizeof(buffer), err)) > 0) result.err.append(buffer, n);
      fclose(err);
    }
    return result;
  }

  // The response names in the JSON lines dorsetctl printed, in order.
  static std::vector<std::string> NamesIn(const std::string& out) {
    std::vector<std::string> names;
    for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
      const size_t at = line.find("activities/long-views/responses/");
      if (at == absl::string_view::npos) continue;
      const size_t end = line.find('"', at);
      names.emplace_back(line.substr(at, end - at));
    }
    return names;
  }

  dorset::testing::TempDir dir_;
  std::unique_ptr<EngagementServer> server_;
  std::vector<std::string> names_;  // in creation (= export) order
};

TEST_F(LargeRepliesTest, ListResponsesOfAThousandEndsPagesAtTheByteBudget) {
  v1::ListResponsesRequest list;
  list.set_parent("activities/long-views");
  list.set_page_size(1000);
  std::vector<std::string> seen;
  int pages = 0;
  while (true) {
    v1::ListResponsesResponse page;
    grpc::Status status = stub().ListResponses(Ctx().get(), list, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ++pages;
    EXPECT_GT(page.responses_size(), 0);
    EXPECT_LE(page.ByteSizeLong(), runtime::kDefaultClientReceiveBytes);
    for (const auto& r : page.responses()) seen.push_back(r.name());
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
    ASSERT_LT(pages, 100);
  }
  EXPECT_EQ(seen, names_);  // every response once, in order
  EXPECT_EQ(pages, 2);      // 5.7 MB over a ~3 MiB budget
}

TEST_F(LargeRepliesTest, ExportWithTheDefaultChunkSendsEverything) {
  v1::ExportResponsesRequest request;
  request.set_parent("activities/long-views");
  std::vector<std::string> seen;
  int chunks = 0;
  grpc::Status status = Export(request, &seen, &chunks);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(seen, names_);
  EXPECT_EQ(chunks, 2);
}

TEST_F(LargeRepliesTest, DorsetctlExportPrintsEveryResponse) {
  Result result = Ctl("export long-views");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(NamesIn(result.out), names_);

  // --start_after (a name or just the number) continues after that response.
  Result rest = Ctl(absl::StrCat("export long-views --start_after=", names_[99]));
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_EQ(NamesIn(rest.out), std::vector<std::string>(names_.begin() + 100, names_.end()));
  const std::string number = names_[249].substr(names_[249].rfind('/') + 1);
  Result tail = Ctl(absl::StrCat("export long-views --chunk_size=7 --start_after=", number));
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_EQ(NamesIn(tail.out), std::vector<std::string>(names_.begin() + 250, names_.end()));
}

TEST_F(LargeRepliesTest, AnExportCutShortResumesAfterTheLastNameReceived) {
  // The client stops after two chunks (a dropped connection, a killed job)...
  v1::ExportResponsesRequest request;
  request.set_parent("activities/long-views");
  request.set_chunk_size(40);
  std::vector<std::string> seen;
  {
    auto context = Ctx();
    auto reader = stub().ExportResponses(context.get(), request);
    v1::ExportResponsesChunk chunk;
    for (int i = 0; i < 2 && reader->Read(&chunk); ++i) {
      for (const auto& r : chunk.responses()) seen.push_back(r.name());
    }
    context->TryCancel();
    while (reader->Read(&chunk)) {
    }
    reader->Finish();
  }
  ASSERT_EQ(seen.size(), 80u);
  // ...and picks up after the last name it holds.
  request.set_start_after(seen.back());
  ASSERT_TRUE(Export(request, &seen).ok());
  EXPECT_EQ(seen, names_);
}

TEST_F(LargeRepliesTest, AnExportEndedByShutdownResumesOnTheRestartedServer) {
  v1::ExportResponsesRequest request;
  request.set_parent("activities/long-views");
  request.set_chunk_size(1);
  std::vector<std::string> seen;
  grpc::Status ended;
  {
    auto context = Ctx();
    auto reader = stub().ExportResponses(context.get(), request);
    v1::ExportResponsesChunk chunk;
    ASSERT_TRUE(reader->Read(&chunk));
    for (const auto& r : chunk.responses()) seen.push_back(r.name());
    // What ServiceHost::Shutdown does first: open exports end at their next chunk.
    server_->host->module().OnShutdown();
    while (reader->Read(&chunk)) {
      for (const auto& r : chunk.responses()) seen.push_back(r.name());
    }
    ended = reader->Finish();
  }
  ASSERT_FALSE(seen.empty());
  if (seen.size() < names_.size()) {
    // The reply names the cursor: the last response the client received.
    EXPECT_EQ(ended.error_code(), StatusCode::UNAVAILABLE);
    EXPECT_THAT(ended.error_message(), HasSubstr(absl::StrCat("start_after=", seen.back())));
  }
  // The server restarts on the same store; the client resumes where it stopped.
  server_->host->Shutdown();
  server_ = std::make_unique<EngagementServer>();
  server_->Start(dorset::testing::TestServerConfig("engagement", dir_.path()));
  request.set_chunk_size(0);
  request.set_start_after(seen.back());
  ASSERT_TRUE(Export(request, &seen).ok());
  EXPECT_EQ(seen, names_);  // every response exactly once, in order
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), names_.size());
}

TEST_F(LargeRepliesTest, StartAfterMustNameAResponseOfTheActivity) {
  v1::ExportResponsesRequest request;
  request.set_parent("activities/long-views");
  std::vector<std::string> seen;
  request.set_start_after("activities/improving-dorsets-healthcare/responses/1");
  EXPECT_EQ(Export(request, &seen).error_code(), StatusCode::INVALID_ARGUMENT);
  request.set_start_after("not-a-name");
  EXPECT_EQ(Export(request, &seen).error_code(), StatusCode::INVALID_ARGUMENT);
  // After the last response: nothing more, and OK.
  request.set_start_after(names_.back());
  ASSERT_TRUE(Export(request, &seen).ok());
  EXPECT_TRUE(seen.empty());
}

// Issue 10 item 2, for the export stream: exports read once and cancelled while the server has
// a chunk in flight (10 x 19 KB, beyond the flow-control window) are finished and freed, and
// shutdown returns with one export just cancelled and one whose client stopped reading.
TEST_F(LargeRepliesTest, CancelledExportsAreFreedAndShutdownReturns) {
  const int64_t streams_before = runtime::LiveStreamWriters().load();
  v1::ExportResponsesRequest request;
  request.set_parent("activities/long-views");
  request.set_chunk_size(10);
  constexpr int kCancels = 100;
  for (int i = 0; i < kCancels; ++i) {
    auto context = Ctx();
    auto reader = stub().ExportResponses(context.get(), request);
    v1::ExportResponsesChunk chunk;
    ASSERT_TRUE(reader->Read(&chunk)) << "export " << i;
    context->TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), StatusCode::CANCELLED) << "export " << i;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (runtime::LiveStreamWriters().load() != streams_before && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(runtime::LiveStreamWriters().load(), streams_before) << "export reactors leaked";

  auto open_context = Ctx();
  auto open_reader = stub().ExportResponses(open_context.get(), request);
  v1::ExportResponsesChunk chunk;
  ASSERT_TRUE(open_reader->Read(&chunk));
  auto cancelled_context = Ctx();
  auto cancelled_reader = stub().ExportResponses(cancelled_context.get(), request);
  ASSERT_TRUE(cancelled_reader->Read(&chunk));
  cancelled_context->TryCancel();

  absl::Notification stopped;
  std::thread stopper([&] {
    server_->host->Shutdown();
    stopped.Notify();
  });
  // The grace period is 5 s here; a reactor that never finishes makes Shutdown() wait for ever.
  if (!stopped.WaitForNotificationWithTimeout(absl::Seconds(60))) {
    ADD_FAILURE() << "ServiceHost::Shutdown() did not return within 60 s";
    std::_Exit(1);  // the stopper thread is stuck inside gRPC; do not hang the suite
  }
  stopper.join();
  (void)cancelled_reader->Finish();
  open_context->TryCancel();  // its unread messages would keep Finish() waiting for the deadline
  (void)open_reader->Finish();
  EXPECT_EQ(runtime::LiveStreamWriters().load(), streams_before);
}

// Every keyset List pages by bytes too: with a small message limit, long themes take several
// pages of one page_size.
TEST(LargeRepliesListsTest, ThemesPageByBytesUnderASmallMessageLimit) {
  dorset::testing::TempDir dir;
  EngagementServer server;
  runtime::ServerConfig config = dorset::testing::TestServerConfig("engagement", dir.path());
  config.max_message_bytes = 64 * 1024;
  server.Start(config);
  MakeActivity(*server.stub, "themed");
  constexpr int kThemes = 30;
  for (int i = 0; i < kThemes; ++i) {
    v1::CreateThemeRequest request;
    request.set_parent("activities/themed");
    request.set_theme_id(absl::StrCat("theme-", i));
    request.mutable_theme()->set_display_name(absl::StrCat("Theme ", i));
    request.mutable_theme()->set_description(std::string(4000, 'd'));
    v1::Theme out;
    grpc::Status status = server.stub->CreateTheme(Ctx().get(), request, &out);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  v1::ListThemesRequest list;
  list.set_parent("activities/themed");
  list.set_page_size(500);
  std::set<std::string> seen;
  int pages = 0;
  while (true) {
    v1::ListThemesResponse page;
    grpc::Status status = server.stub->ListThemes(Ctx().get(), list, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ++pages;
    for (const auto& t : page.themes()) EXPECT_TRUE(seen.insert(t.name()).second);
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
    ASSERT_LT(pages, 100);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThemes));
  EXPECT_GT(pages, 1);
}

}  // namespace
}  // namespace dorset::engagement::testing
