#include "services/finance/storage/chain.h"

#include "absl/strings/str_cat.h"
#include "runtime/status/status_macros.h"
#include "runtime/storage/multi_row.h"

namespace dorset::finance {

using runtime::storage::Statement;

const char kChainedColumns[] =
    "p.id, p.year, p.month, p.kind, COALESCE(n.name, ''), p.amount_pence, p.principal, "
    "p.create_micros, p.reason, p.request_id, p.reverses, c.prev_hash, c.hash";
const char kChainedJoins[] =
    "posting p LEFT JOIN node n ON n.id = p.scheme_id LEFT JOIN posting_chain c ON "
    "c.posting_id = p.id";

ChainedRow ReadChained(const Statement& stmt) {
  ChainedRow row;
  ChainedPosting& p = row.posting;
  p.id = stmt.Int(0);
  p.year = static_cast<int>(stmt.Int(1));
  p.month = static_cast<int>(stmt.Int(2));
  p.kind = static_cast<int>(stmt.Int(3));
  p.scheme = stmt.Text(4);
  p.amount = stmt.Int(5);
  p.principal = stmt.Text(6);
  p.create_micros = stmt.Int(7);
  p.reason = stmt.Text(8);
  p.request_id = stmt.Text(9);
  p.reverses = stmt.OptionalInt(10);
  row.has_link = !stmt.IsNull(12);
  if (row.has_link) {
    row.prev_hash = stmt.Text(11);
    row.hash = stmt.Text(12);
  }
  return row;
}

absl::StatusOr<ChainHead> ReadChainHead(Transaction& tx, int year) {
  ChainHead head;
  head.hash = GenesisHash(year);
  ASSIGN_OR_RETURN(Statement last,
                   tx.Prepare("SELECT posting_id, hash FROM posting_chain WHERE year = ? ORDER BY "
                              "posting_id DESC LIMIT 1"));
  last.Bind(1, year);
  ASSIGN_OR_RETURN(bool found, last.Step());
  if (found) {
    head.posting_id = last.Int(0);
    head.hash = last.Text(1);
  }
  ASSIGN_OR_RETURN(Statement count, tx.Prepare("SELECT COUNT(*) FROM posting WHERE year = ?"));
  count.Bind(1, year);
  ASSIGN_OR_RETURN(bool counted, count.Step());
  if (counted) head.count = count.Int(0);
  return head;
}

absl::StatusOr<ChainWriter> ChainWriter::Create(Transaction& tx) { return ChainWriter(tx); }

absl::StatusOr<ChainWriter::Link> ChainWriter::Next(const ChainedPosting& posting) {
  auto head = head_.find(posting.year);
  if (head == head_.end()) {
    if (!last_) {
      ASSIGN_OR_RETURN(last_, tx_->Prepare("SELECT hash FROM posting_chain WHERE year = ? ORDER BY "
                                           "posting_id DESC LIMIT 1"));
    }
    last_->Reset();
    last_->Bind(1, posting.year);
    ASSIGN_OR_RETURN(bool found, last_->Step());
    std::string hash = found ? last_->Text(0) : GenesisHash(posting.year);
    last_->Reset();
    head = head_.emplace(posting.year, std::move(hash)).first;
  }
  Link link{.posting_id = posting.id,
            .year = posting.year,
            .prev_hash = head->second,
            .hash = PostingHash(posting, head->second)};
  head->second = link.hash;
  return link;
}

absl::Status ChainWriter::Append(const ChainedPosting& posting) {
  ASSIGN_OR_RETURN(Link link, Next(posting));
  if (!insert_) {
    ASSIGN_OR_RETURN(insert_, tx_->Prepare("INSERT INTO posting_chain(posting_id, year, prev_hash, "
                                           "hash) VALUES (?, ?, ?, ?)"));
  }
  insert_->Reset();
  insert_->Bind(1, link.posting_id).Bind(2, link.year).Bind(3, link.prev_hash).Bind(4, link.hash);
  absl::Status run = insert_->Run();
  insert_->Reset();
  return run;
}

absl::Status ChainWriter::AppendLater(const ChainedPosting& posting) {
  ASSIGN_OR_RETURN(Link link, Next(posting));
  kept_.push_back(std::move(link));
  return absl::OkStatus();
}

absl::Status ChainWriter::Flush() {
  static const runtime::storage::MultiRowInsert kInsert(
      "INSERT INTO posting_chain(posting_id, year, prev_hash, hash) VALUES ", 4, "",
      {"bigint", "bigint", "text", "text"});
  if (!inserts_.has_value()) inserts_.emplace(kInsert, *tx_);
  absl::Status written =
      inserts_->Send(kept_.size(), [this](Statement& insert, size_t row, int first) {
        const Link& link = kept_[row];
        // The hashes are bound without a copy: kept_ is cleared only after the statement ran.
        insert.Bind(first, link.posting_id)
            .Bind(first + 1, link.year)
            .BindKept(first + 2, link.prev_hash)
            .BindKept(first + 3, link.hash);
      });
  kept_.clear();
  return written;
}

absl::Status BackfillChain(Transaction& tx) {
  ASSIGN_OR_RETURN(Statement highest,
                   tx.Prepare("SELECT (SELECT COALESCE(MAX(id), 0) FROM posting), (SELECT "
                              "COALESCE(MAX(posting_id), 0) FROM posting_chain)"));
  ASSIGN_OR_RETURN(bool row, highest.Step());
  if (!row || highest.Int(0) == highest.Int(1)) return absl::OkStatus();
  const int64_t linked = highest.Int(1);
  highest.Reset();
  ASSIGN_OR_RETURN(ChainWriter writer, ChainWriter::Create(tx));
  ASSIGN_OR_RETURN(Statement missing,
                   tx.Prepare(absl::StrCat("SELECT ", kChainedColumns, " FROM ", kChainedJoins,
                                           " WHERE p.id > ? ORDER BY p.id")));
  missing.Bind(1, linked);
  std::vector<ChainedPosting> postings;
  while (true) {
    ASSIGN_OR_RETURN(bool more, missing.Step());
    if (!more) break;
    postings.push_back(ReadChained(missing).posting);
  }
  missing.Reset();
  for (const ChainedPosting& posting : postings) RETURN_IF_ERROR(writer.Append(posting));
  return absl::OkStatus();
}

}  // namespace dorset::finance
