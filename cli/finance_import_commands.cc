#include "cli/finance_import_commands.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "dorset/finance/v1/finance.grpc.pb.h"
#include "google/rpc/error_details.pb.h"
#include "runtime/auth/token_store.h"
#include "runtime/status/grpc_status.h"
#include "services/finance/client/finance_client.h"
#include "services/finance/money/money.h"

namespace dorset::cli {
namespace {

namespace v1 = dorset::finance::v1;

// The batch limit of BatchCreatePostings: a file is posted in one request, all or nothing.
constexpr size_t kMaxPostingsPerFile = 1000;

struct Record {
  int line = 0;  // where it starts
  std::vector<std::string> fields;
};

// RFC 4180 records: fields separated by commas, optionally in double quotes (a quote inside
// doubled, line breaks allowed), records ended by CRLF or LF. A UTF-8 byte order mark at the
// start is skipped. Blank lines are skipped. `error` is set for a quote left open.
std::vector<Record> ReadCsv(std::string_view text, std::string* error) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<Record> records;
  Record current;
  std::string field;
  bool quoted = false, in_quotes = false, any = false;
  int line = 1;
  current.line = 1;
  auto end_field = [&] {
    current.fields.push_back(std::move(field));
    field.clear();
    quoted = false;
  };
  auto end_record = [&] {
    end_field();
    if (any) records.push_back(std::move(current));
    current = Record();
    any = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && field.empty() && !quoted) {
      in_quotes = quoted = any = true;
    } else if (c == ',') {
      any = true;
      end_field();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;  // the LF ends the record
    } else if (c == '\n') {
      end_record();
      current.line = ++line;
    } else {
      any = true;
      field.push_back(c);
    }
  }
  if (in_quotes) *error = absl::StrCat("line ", current.line, ": a quoted field is not closed");
  end_record();
  return records;
}

}  // namespace

ParsedImport ParsePostingsCsv(const std::string& text) {
  ParsedImport out;
  std::string error;
  std::vector<Record> records = ReadCsv(text, &error);
  if (!error.empty()) {
    out.rejections.push_back({0, "", error});
    return out;
  }
  if (records.empty()) {
    out.rejections.push_back({1, "", "the file is empty (a header line is needed)"});
    return out;
  }
  // The header: known columns in any order, each once.
  const std::vector<std::string> required = {"scheme", "financial_year", "month", "kind",
                                             "amount_gbp"};
  std::map<std::string, size_t> column;
  const Record& header = records.front();
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(header.fields[i]));
    const bool known =
        name == "reason" || std::find(required.begin(), required.end(), name) != required.end();
    if (!known) {
      out.rejections.push_back({header.line, name,
                                "unknown column (scheme, financial_year, "
                                "month, kind, amount_gbp, reason)"});
    } else if (!column.emplace(name, i).second) {
      out.rejections.push_back({header.line, name, "the column appears twice"});
    }
  }
  for (const std::string& name : required) {
    if (!column.contains(name)) out.rejections.push_back({header.line, name, "missing column"});
  }
  if (!out.rejections.empty()) return out;

  for (size_t r = 1; r < records.size(); ++r) {
    const Record& record = records[r];
    auto get = [&](const std::string& name) -> std::string {
      auto it = column.find(name);
      if (it == column.end() || it->second >= record.fields.size()) return "";
      return std::string(absl::StripAsciiWhitespace(record.fields[it->second]));
    };
    const size_t before = out.rejections.size();
    if (record.fields.size() != header.fields.size()) {
      out.rejections.push_back({record.line, "",
                                absl::StrCat(record.fields.size(), " cells where the header has ",
                                             header.fields.size())});
      continue;
    }
    v1::Posting posting;
    posting.set_scheme(get("scheme"));
    if (posting.scheme().empty()) out.rejections.push_back({record.line, "scheme", "required"});
    posting.set_financial_year(get("financial_year"));
    int month = 0;
    if (!absl::SimpleAtoi(get("month"), &month)) {
      out.rejections.push_back({record.line, "month", "a whole number 1..12"});
    }
    posting.set_month(month);
    absl::StatusOr<v1::PostingKind> kind = ParseEnum<v1::PostingKind>("kind", get("kind"));
    if (!kind.ok()) {
      out.rejections.push_back({record.line, "kind", std::string(kind.status().message())});
    } else {
      posting.set_kind(*kind);
    }
    absl::StatusOr<int64_t> pence = finance::money::ParsePounds(get("amount_gbp"));
    if (!pence.ok()) {
      out.rejections.push_back({record.line, "amount_gbp", std::string(pence.status().message())});
    } else {
      posting.mutable_amount()->set_pence(*pence);
    }
    posting.set_reason(get("reason"));
    if (out.rejections.size() == before) {
      out.postings.push_back(std::move(posting));
      out.lines.push_back(record.line);
    }
  }
  if (out.postings.size() + out.rejections.size() == 0) {
    out.rejections.push_back({1, "", "no postings after the header"});
  } else if (out.postings.size() > kMaxPostingsPerFile) {
    out.rejections.push_back(
        {0, "",
         absl::StrCat(out.postings.size(), " postings: at most ", kMaxPostingsPerFile,
                      " per file, so that a file is posted all or nothing; split it")});
  }
  return out;
}

std::string ImportRequestId(const std::string& text) {
  return absl::StrCat("import-", runtime::Sha256Hex(text).substr(0, 32));
}

int RunImportPostings(const Args& args, const Connection& connection) {
  if (args.positional().size() != 2) {
    std::cerr << "usage: dorsetctl finance import-postings FILE.csv\n";
    return 2;
  }
  const std::string path = args.positional()[1];
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::cerr << "cannot read " << path << "\n";
    return 2;
  }
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string text = buffer.str();
  const ParsedImport parsed = ParsePostingsCsv(text);
  auto report = [&](const std::vector<ImportRejection>& rejections) {
    std::cout << "rejected " << path << ": nothing was posted\n";
    for (const ImportRejection& r : rejections) {
      std::cout << "  " << (r.line > 0 ? absl::StrCat("line ", r.line) : std::string("file"))
                << (r.column.empty() ? "" : absl::StrCat(": ", r.column)) << ": " << r.problem
                << "\n";
    }
    return 1;
  };
  if (!parsed.rejections.empty()) return report(parsed.rejections);

  v1::BatchCreatePostingsRequest request;
  request.set_request_id(ImportRequestId(text));
  for (const v1::Posting& p : parsed.postings) *request.add_postings() = p;
  v1::BatchCreatePostingsResponse response;
  grpc::Status status;
  // Transport failures are retried with the same request id: the server posts it once.
  auto client = finance::FinanceClient::ForChannel(connection.channel, ClientOptionsOf(connection));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    absl::StatusOr<v1::BatchCreatePostingsResponse> reply =
        client->BatchCreatePostings(request, WithDeadline(absl::Minutes(2)));
    status = ToWireStatus(reply.status());
    if (reply.ok()) response = *std::move(reply);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
  }
  if (!status.ok()) {
    // The server names a bad posting by its index (postings[3].month): turned into the line.
    std::vector<ImportRejection> rejections;
    const google::rpc::Status details = runtime::DecodeDetails(status);
    for (const auto& any : details.details()) {
      google::rpc::BadRequest bad;
      google::rpc::PreconditionFailure precondition;
      if (any.UnpackTo(&bad)) {
        for (const auto& v : bad.field_violations()) {
          size_t index = 0;
          const std::string& field = v.field();
          const size_t open = field.find('['), close = field.find(']');
          if (field.rfind("postings[", 0) == 0 && close != std::string::npos &&
              absl::SimpleAtoi(field.substr(open + 1, close - open - 1), &index) &&
              index < parsed.lines.size()) {
            const std::string column =
                close + 2 <= field.size() ? field.substr(close + 2) : std::string();
            rejections.push_back({parsed.lines[index], column, v.description()});
          } else {
            rejections.push_back({0, field, v.description()});
          }
        }
      } else if (any.UnpackTo(&precondition)) {
        for (const auto& v : precondition.violations()) {
          rejections.push_back(
              {0, "", absl::StrCat(v.type(), " ", v.subject(), ": ", status.error_message())});
        }
      }
    }
    if (rejections.empty()) return ReportError(status);
    return report(rejections);
  }
  std::cout << "imported " << response.postings_size() << " postings from " << path
            << " (request id " << request.request_id() << "; running the same file again posts "
            << "nothing new)\n";
  if (response.postings_size() > 0) {
    std::cout << "  " << response.postings(0).name() << " .. "
              << response.postings(response.postings_size() - 1).name() << "\n";
  }
  return 0;
}

}  // namespace dorset::cli
