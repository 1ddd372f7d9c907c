// dorsetctl engagement's exports (engagement_cli.h): responses as JSON lines (export, resumable),
// CSV for spreadsheets (export-csv), the consultation report as HTML (report), and SYNTHETIC
// responses sent through CreateResponse (generate).
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/cli_common.h"
#include "cli/engagement_cli.h"
#include "dorset/engagement/v1/engagement.grpc.pb.h"
#include "services/engagement/synthetic/synthetic_responses.h"

namespace dorset::cli::engagement_cli {
namespace {

namespace v1 = ::dorset::engagement::v1;

int Generate(Session& s, const Args& args, const std::string& activity) {
  int64_t count = 0;
  uint64_t seed = 1;
  if (!absl::SimpleAtoi(args.GetOr("count", "0"), &count) || count <= 0 ||
      !absl::SimpleAtoi(args.GetOr("seed", "1"), &seed)) {
    std::cerr << "generate: --count must be a positive number (and --seed a number)\n";
    return 2;
  }
  v1::ListThemesRequest list;
  list.set_parent(activity);
  list.set_page_size(500);
  absl::StatusOr<v1::ListThemesResponse> themes = s.client->ListThemes(list);
  if (!themes.ok()) return ReportError(themes.status());
  engagement::SyntheticOptions options;
  options.seed = seed;
  for (const auto& t : themes->themes()) options.themes.push_back(t.name());
  options.localities = List(args.GetOr("localities", ""));
  engagement::SyntheticResponses generator(options);
  int64_t ok = 0;
  for (int64_t i = 0; i < count; ++i) {
    v1::CreateResponseRequest request;
    request.set_parent(activity);
    *request.mutable_response() = generator.Next();
    request.set_request_id(absl::StrCat("synthetic-", seed, "-", i));
    absl::StatusOr<v1::Response> out = s.client->CreateResponse(request);
    if (!out.ok()) return ReportError(out.status());
    ++ok;
  }
  std::cout << "{\"activity\":\"" << activity << "\",\"synthetic_responses\":" << ok << "}\n";
  return 0;
}

int Export(Session& s, const Args& args, const std::string& activity) {
  v1::ExportResponsesRequest request;
  request.set_parent(activity);
  int chunk_size = 0;
  if (!absl::SimpleAtoi(args.GetOr("chunk_size", "0"), &chunk_size)) return Usage();
  request.set_chunk_size(chunk_size);
  std::string start_after = args.GetOr("start_after", "");
  if (!start_after.empty() && start_after.find('/') == std::string::npos) {
    start_after = absl::StrCat(activity, "/responses/", start_after);  // a bare response number
  }
  request.set_start_after(start_after);
  auto reader = s.client->ExportResponses(request, WithDeadline(absl::Hours(1)));
  v1::ExportResponsesChunk chunk;
  std::string last;
  while (reader.Read(&chunk)) {
    for (const auto& r : chunk.responses()) Print(r);
    if (chunk.responses_size() > 0) last = chunk.responses(chunk.responses_size() - 1).name();
  }
  std::cout.flush();
  absl::Status status = reader.Finish();
  if (status.ok()) return 0;
  // Everything printed so far is complete: say where to pick up.
  if (!last.empty())
    std::cerr << "export stopped after " << last << "; resume with --start_after=" << last << "\n";
  return ReportError(status);
}

}  // namespace

// Writes `data` to --out=FILE, or to standard output.
int WriteOut(const Args& args, const std::string& data) {
  const std::string path = args.GetOr("out", "");
  if (path.empty()) {
    std::cout << data << std::flush;
    return std::cout.good() ? 0 : 1;
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << data;
  file.close();
  if (!file) {
    std::cerr << "cannot write " << path << "\n";
    return 1;
  }
  return 0;
}

int ExportCsv(Session& s, const Args& args, const std::string& activity) {
  const std::string table = args.GetOr("table", "responses");
  v1::ExportCsvRequest request;
  request.set_parent(activity);
  if (table == "responses") {
    request.set_table(v1::CSV_TABLE_RESPONSES);
  } else if (table == "aggregates") {
    request.set_table(v1::CSV_TABLE_AGGREGATES);
  } else {
    std::cerr << "export-csv: --table must be responses or aggregates\n";
    return 2;
  }
  request.set_byte_order_mark(args.Has("bom"));
  auto reader = s.client->ExportCsv(request);
  std::string data;
  v1::CsvChunk chunk;
  while (reader.Read(&chunk)) data += chunk.data();
  absl::Status status = reader.Finish();
  if (!status.ok()) return ReportError(status);
  return WriteOut(args, data);
}

bool IsExportCommand(const std::string& command) {
  return command == "export" || command == "export-csv" || command == "report" ||
         command == "generate";
}

int RunExportCommand(const std::string& command, const Args& args, Session& s) {
  const auto& pos = args.positional();
  auto need = [&](size_t n) { return pos.size() >= n; };
  const std::string activity = need(1) ? Prefixed(pos[0], "activities") : "";
  if (command == "export" && need(1)) return Export(s, args, activity);
  if (command == "export-csv" && need(1)) return ExportCsv(s, args, activity);
  if (command == "report" && need(1)) {
    v1::GetConsultationReportRequest request;
    request.set_name(activity + "/consultationReport");
    absl::StatusOr<v1::ConsultationReport> out = s.client->GetConsultationReport(request);
    if (!out.ok()) return ReportError(out.status());
    return WriteOut(args, out->html());
  }
  if (command == "generate" && need(1)) return Generate(s, args, activity);
  return Usage();
}

}  // namespace dorset::cli::engagement_cli
