// Imports through the real binaries: dorsetctl against a real dorset-registry process (and
// against a server whose reply cannot be decoded), the exit status of a wholesale rejection,
// and the server's peak memory during a large import, read from /proc.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dorset/registry/v1/registry.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "runtime/testing/redis_server.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "tests/registry/registry_process.h"

namespace dorset::registry {
namespace {

namespace v1 = dorset::registry::v1;
using ::testing::HasSubstr;

using testing::RegistryProcess;

struct Result {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

Result Ctl(const std::string& args, int port) {
  const std::string command =
      absl::StrCat(DORSET_CTL_BINARY, " registry ", args, " --target=127.0.0.1:", port, " 2>&1");
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string Row(const std::string& code, const std::string& name = "TEST SURGERY",
                const std::string& commissioner = "11J") {
  return absl::StrCat("\"", code, "\",\"", name,
                      "\",\"Y58\",\"QVV\",\"1 HIGH STREET\",\"\",\"\",\"POOLE\",\"DORSET\","
                      "\"BH15 1AA\",\"19740401\",\"\",\"A\",\"B\",\"",
                      commissioner,
                      "\",\"20130401\",\"\",\"01202 000000\",\"\",\"\",\"\",\"0\",\"\",\"11J\","
                      "\"\",\"4\",\"\"\n");
}

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& content) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(RegistryCli, NonUtf8FirstFieldGivesAReadableReportAndNoAbort) {
  dorset::testing::TempDir dir;
  RegistryProcess server(dir.path());
  ASSERT_TRUE(server.WaitReady());
  const std::string file = WriteFile(dir.path(), "epraccur.csv",
                                     Row("J90001") + Row("\xC9\xFF"
                                                         "0002",
                                                         "CAF\xC9"));
  Result r = Ctl("import-epraccur " + file, server.port());
  EXPECT_EQ(r.exit_code, 0) << r.out;  // was 134: "assertion failed: cq_.Pluck"
  EXPECT_THAT(r.out, HasSubstr("added 1"));
  EXPECT_THAT(r.out, HasSubstr("rejected line 2"));
  EXPECT_THAT(r.out, HasSubstr("rows were not UTF-8 and were read as Windows-1252"));
}

// A server whose ImportFile reply is not a decodable ImportReport (a non-UTF-8 string).
class UndecodableReplyService final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      Reactor() { StartRead(&in_); }
      void OnReadDone(bool ok) override {
        if (ok) {
          in_.Clear();
          StartRead(&in_);
          return;
        }
        const std::string bytes("\x08\x01\x12\x02\xC9\xFF", 6);  // kind 1, commissioner "\xC9\xFF"
        grpc::Slice slice(bytes);
        out_ = grpc::ByteBuffer(&slice, 1);
        StartWrite(&out_);
      }
      void OnWriteDone(bool) override { Finish(grpc::Status::OK); }
      void OnDone() override { delete this; }

     private:
      grpc::ByteBuffer in_;
      grpc::ByteBuffer out_;
    };
    return new Reactor();
  }
};

TEST(RegistryCli, AReplyThatCannotBeDecodedIsAnErrorNotAnAbort) {
  dorset::testing::TempDir dir;
  UndecodableReplyService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  const std::string file = WriteFile(dir.path(), "epraccur.csv", Row("J90001"));
  Result r = Ctl("import-epraccur " + file, port);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("could not be decoded"));
  server->Shutdown();
}

TEST(RegistryCli, EveryRowRejectedExitsNonZeroAndSaysWhatTheFileLooksLike) {
  dorset::testing::TempDir dir;
  RegistryProcess server(dir.path());
  ASSERT_TRUE(server.WaitReady());
  const std::string sizes =
      WriteFile(dir.path(), "gp-reg-pat-prac-all.csv",
                "PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,"
                "NUMBER_OF_PATIENTS\n"
                "GP_PRAC_PAT_LIST,01JAN2021,GP,11J,E38000045,J90001,BH15 1AA,ALL,ALL,1234\n"
                "GP_PRAC_PAT_LIST,01JAN2021,GP,11J,E38000045,J90002,BH15 1AA,ALL,ALL,10\n");
  Result wrong = Ctl("import-epraccur " + sizes, server.port());
  EXPECT_EQ(wrong.exit_code, 3) << wrong.out;
  EXPECT_THAT(wrong.out, HasSubstr("every row was rejected (3 of 3)"));
  EXPECT_THAT(wrong.out, HasSubstr("looks like a list-size file: use import-list-sizes"));
  // The same for a validate-only run; a good file still exits 0.
  EXPECT_EQ(Ctl("import-epraccur --validate_only " + sizes, server.port()).exit_code, 3);
  const std::string good = WriteFile(dir.path(), "epraccur.csv", Row("J90001") + Row("J90002"));
  Result right = Ctl("import-epraccur " + good, server.port());
  EXPECT_EQ(right.exit_code, 0) << right.out;
  Result sizes_right = Ctl("import-list-sizes " + sizes, server.port());
  EXPECT_EQ(sizes_right.exit_code, 0) << sizes_right.out;
  // An epraccur extract sent as list sizes is refused for its header, naming the kind.
  Result header = Ctl("import-list-sizes " + good, server.port());
  EXPECT_EQ(header.exit_code, 1) << header.out;
  EXPECT_THAT(header.out, HasSubstr("looks like EPRACCUR"));
}

// Issue 10 item 7: a 60 MB validate_only import of short rows peaked at 629 MiB. The import
// now streams: the server's peak RSS during a ~32 MB import stays within 64 MiB of its RSS
// before the import (the documented bound), whatever the file's size.
TEST(RegistryImportMemory, PeakRssOfALargeImportStaysWithinTheBound) {
  dorset::testing::TempDir dir;
  // ASan's quarantine keeps up to 256 MiB of freed memory by design; cap it so the figure
  // measures the registry's memory, not the sanitizer's.
  RegistryProcess server(dir.path(), "quarantine_size_mb=16");
  ASSERT_TRUE(server.WaitReady());
  // Rows of other commissioners (skipped), some bad rows and some of Dorset's.
  std::string content;
  content.reserve(33 << 20);
  for (int i = 0; content.size() < (32u << 20); ++i) {
    char code[8];
    std::snprintf(code, sizeof code, "%c%05d", 'A' + i % 26, i % 100000);
    if (i % 1000 == 0) {
      content += Row(code, "DORSET SURGERY");
    } else if (i % 997 == 0) {
      content += Row(code, "", "11J");  // no name: rejected
    } else {
      content += Row(code, "SURGERY", "99X");
    }
  }
  const std::string file = WriteFile(dir.path(), "big-epraccur.csv", content);
  const size_t file_bytes = content.size();
  content.clear();
  content.shrink_to_fit();

  const std::string warmup = WriteFile(dir.path(), "small.csv", Row("J90001"));
  ASSERT_EQ(Ctl("import-epraccur --validate_only " + warmup, server.port()).exit_code, 0);
  const int64_t idle_kib = server.StatusKib("VmRSS");
  server.ResetPeak();
  Result r = Ctl("import-epraccur --validate_only " + file, server.port());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("validate only"));
  const int64_t peak_kib = server.StatusKib("VmHWM");
  const int64_t after_kib = server.StatusKib("VmRSS");
  std::cout << "import of " << file_bytes / (1 << 20) << " MiB: idle RSS " << idle_kib / 1024
            << " MiB, peak " << peak_kib / 1024 << " MiB (+" << (peak_kib - idle_kib) / 1024
            << " MiB), after " << after_kib / 1024 << " MiB\n";
  ASSERT_GT(idle_kib, 0);
  EXPECT_LE(peak_kib - idle_kib, 64 * 1024) << "peak RSS grew by more than 64 MiB";
}

// Issue 16: an import's memory is bounded by a constant, whatever the file's size. Two fresh
// stores import generated files of kPractices and 4 x kPractices new practices (every row is
// added: the store's whole write path, past the 1,000 changes an import lists for the caches);
// the server's peak RSS over its RSS before the import may not grow with the file. Anything kept
// per practice shows: the 24,000 more rows would cost 24,000 x its size (the ~10x the file's size
// of before issue 16 would be +40 MiB; the bound was 4 MiB, i.e. ~175 bytes per practice). What
// may differ is constant: SQLite's page caches (2 MiB per connection) filling as the store grows
// and the read-back touches more of it, FTS5's pending terms (flushed at 1 MiB), the upload's
// gRPC buffers, and (session 22) the keys seen, held in memory up to WriteTx::kSeenMemoryBytes
// before they move to import_seen: ~0.7 MiB of map for 8,000 codes, ~1.3 MiB at most, so the
// bound is 5 MiB (~220 bytes per practice). Measured under ASan (2026-12-01, SQLite, no
// quarantine): 2,000 new practices +8.6 MiB, 8,000 +12.7 MiB, 32,000 +14.7 MiB: the caches fill up
// to ~8,000 practices, so the smaller file is 8,000 (a file of 2,000 against 8,000 differed by 4.1
// MiB, all of it caches).
//
// Under ASan the child runs without the allocator's quarantine (quarantine_size_mb=0): the
// quarantine keeps freed blocks (256 MiB by default) before reuse, so the peak grows with the
// bytes the import frees until the quarantine is full — with a 16 MiB quarantine, 2,000 practices
// peaked at +34 MiB and 8,000 at +48 MiB, which is what an earlier form of this test (1,500 vs
// 6,000 practices) saw as a growth per practice. Without it freed memory is reused as in a build
// without ASan; leaks and use-after-free are still caught by the rest of the suite.
//
// Each size is imported twice, into fresh servers, alternating, and the smaller growth of the two
// counts. A transient that depends on timing — the upload's bytes held by gRPC's flow control when
// the server is descheduled on a loaded machine — came and went between runs of the same build
// (32,000 practices: peak minus RSS after 0.9–3.2 MiB; once +4.4 MiB over 8,000 in CI,
// 2026-12-01), while anything kept per practice is in every run and shows in the smaller of two.
TEST(RegistryImportMemory, PeakOfAnImportOfNewPracticesDoesNotGrowWithTheFile) {
  constexpr int kPractices = 8000;
  constexpr int kRunsPerSize = 2;
  int64_t growth_kib[2] = {INT64_MAX, INT64_MAX};
  for (int run = 0; run < 2 * kRunsPerSize; ++run) {
    const int size = run % 2;
    const int practices = size == 0 ? kPractices : 4 * kPractices;
    dorset::testing::TempDir dir;
    RegistryProcess server(dir.path(), "quarantine_size_mb=0:thread_local_quarantine_size_kb=0");
    ASSERT_TRUE(server.WaitReady());
    std::string content;
    for (int i = 0; i < practices; ++i) {
      char code[8];
      std::snprintf(code, sizeof code, "%c%05d", 'A' + i / 100000, i % 100000);
      content += Row(code, absl::StrCat("SURGERY ", i));
    }
    const std::string file = WriteFile(dir.path(), "epraccur.csv", content);
    const size_t file_bytes = content.size();
    content = std::string();
    // A first import of its own sets the server up (statements, caches, first allocations).
    const std::string warmup = WriteFile(dir.path(), "small.csv", Row("Y99999"));
    ASSERT_EQ(Ctl("import-epraccur " + warmup, server.port()).exit_code, 0);
    const int64_t idle_kib = server.StatusKib("VmRSS");
    server.ResetPeak();
    Result r = Ctl("import-epraccur " + file, server.port());
    ASSERT_EQ(r.exit_code, 0) << r.out;
    ASSERT_THAT(r.out, HasSubstr(absl::StrCat("added ", practices)));
    const int64_t peak_kib = server.StatusKib("VmHWM");
    const int64_t after_kib = server.StatusKib("VmRSS");
    ASSERT_GT(idle_kib, 0);
    growth_kib[size] = std::min(growth_kib[size], peak_kib - idle_kib);
    std::cout << practices << " new practices (" << file_bytes / 1024 << " KiB): idle RSS "
              << idle_kib / 1024 << " MiB, peak +" << (peak_kib - idle_kib) / 1024.0
              << " MiB, after +" << (after_kib - idle_kib) / 1024.0 << " MiB" << std::endl;
  }
  EXPECT_LE(growth_kib[1] - growth_kib[0], 5 * 1024)
      << "the import's peak grew with the file: +" << growth_kib[0] << " KiB for " << kPractices
      << " practices, +" << growth_kib[1] << " KiB for " << 4 * kPractices << " (the smaller of "
      << kRunsPerSize << " runs each)";
}

}  // namespace
}  // namespace dorset::registry
