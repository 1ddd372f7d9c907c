// Month-end close and the tamper-evident ledger (docs/finance.md), over real gRPC with a real
// store on each engine (…/sqlite, …/postgres): closing in order through the period RPCs,
// refusing postings dated in a closed month, a correction dated in the current open month, a
// closed month's report reproduced byte for byte, reopening (finance-admin only, audited), and
// VerifyLedger finding a row edited in the store and a row rewritten together with every later
// hash (the second through the seal).
#include <fstream>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "dorset/common/v1/audit.pb.h"
#include "gtest/gtest.h"
#include "runtime/audit/audit_log.h"
#include "services/finance/storage/chain.h"
#include "services/finance/storage/periods.h"
#include "tests/finance/month_close_fixture.h"

namespace dorset::finance {
namespace {

using runtime::storage::Engine;
using runtime::storage::Statement;
using namespace testing;  // NOLINT: the fixture's names and constants

class MonthCloseTest : public MonthCloseFixture {};

TEST_P(MonthCloseTest, MonthsCloseInOrderAndAClosedMonthRefusesPostingsNamingThePeriod) {
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 100000);
  // M2 cannot start closing while M1 is open.
  grpc::Status early = StartClose(2);
  ASSERT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(early.error_message().find("close 2020-21 M1 before 2020-21 M2"), std::string::npos)
      << early.error_message();
  // Closing needs CLOSING first; a reader may not close.
  EXPECT_EQ(Close(1).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(StartClose(1, nullptr, kReader).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Bad names are refused naming the field.
  {
    v1::GetPeriodRequest request;
    request.set_name("financialYears/2020-21/periods/13");
    v1::Period period;
    grpc::Status status = stub_->GetPeriod(Ctx(kReader).get(), request, &period);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(ViolationField(status), "name");
  }
  ASSERT_TRUE(StartClose(1).ok());
  // CLOSING still takes postings (late adjustments).
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 5000);
  EXPECT_EQ(Report(1).period_state(), v1::Period::STATE_CLOSING);
  v1::Period closed;
  ASSERT_TRUE(Close(1, &closed).ok());
  EXPECT_EQ(closed.name(), "financialYears/2020-21/periods/1");
  EXPECT_EQ(closed.sealed_head(), "postings/2");

  grpc::Status refused =
      Post(MakePosting(kRightcare, kYear, 1, v1::POSTING_KIND_ACTUAL, 700, "late"));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(PreconditionSubject(refused), "PERIOD financialYears/2020-21/periods/1");
  EXPECT_NE(refused.error_message().find("2020-21 M1 is closed"), std::string::npos)
      << refused.error_message();
  // A batch with one posting in the closed month posts nothing.
  {
    v1::BatchCreatePostingsRequest request;
    request.set_request_id("batch-into-closed");
    *request.add_postings() = MakePosting(kTrust, kYear, 2, v1::POSTING_KIND_ACTUAL, 1, "ok");
    *request.add_postings() = MakePosting(kTrust, kYear, 1, v1::POSTING_KIND_PLAN, 1, "closed");
    v1::BatchCreatePostingsResponse response;
    grpc::Status status = stub_->BatchCreatePostings(Ctx().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  // Other months and other years are open.
  PostOk(kRightcare, 2, v1::POSTING_KIND_ACTUAL, 100);
  EXPECT_TRUE(
      Post(MakePosting(kRightcare, "2019-20", 1, v1::POSTING_KIND_ACTUAL, 100, "other year")).ok());

  std::vector<v1::Period> list = Periods();
  ASSERT_EQ(list.size(), 12u);
  EXPECT_EQ(list[0].state(), v1::Period::STATE_CLOSED);
  EXPECT_EQ(list[0].closed_by(), "finance-team");
  EXPECT_EQ(list[1].state(), v1::Period::STATE_OPEN);
  EXPECT_EQ(list[11].name(), "financialYears/2020-21/periods/12");
  // The report says which months are closed (of those its year to date covers).
  const v1::Report m3 = Report(3);
  EXPECT_EQ(m3.period_state(), v1::Period::STATE_OPEN);
  EXPECT_EQ(std::vector<int>(m3.closed_months().begin(), m3.closed_months().end()),
            std::vector<int>{1});
  EXPECT_EQ(Report(1).period_state(), v1::Period::STATE_CLOSED);
  // The state survives a restart.
  Restart();
  EXPECT_EQ(
      Post(MakePosting(kRightcare, kYear, 1, v1::POSTING_KIND_ACTUAL, 700, "again")).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_P(MonthCloseTest, ACorrectionToAClosedMonthIsAReversalInTheCurrentOpenMonth) {
  const int64_t original = PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 250000);
  const int64_t open_one = PostOk(kRightcare, 4, v1::POSTING_KIND_ACTUAL, 1000);
  ASSERT_NO_FATAL_FAILURE(CloseMonth(1));
  ASSERT_NO_FATAL_FAILURE(CloseMonth(2));
  const v1::Report m1_before = Report(1);

  v1::Posting reversal;
  grpc::Status status =
      Post(Reversal(absl::StrCat("postings/", original), "keyed twice"), &reversal);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reversal.reverses(), absl::StrCat("postings/", original));
  EXPECT_EQ(reversal.scheme(), kRightcare);
  EXPECT_EQ(reversal.financial_year(), kYear);
  EXPECT_EQ(reversal.month(), 3);  // M1 and M2 closed: M3 is the current open month
  EXPECT_EQ(reversal.amount().pence(), -250000);
  // A reversal of a posting in an open month keeps that month.
  v1::Posting same_month;
  ASSERT_TRUE(Post(Reversal(absl::StrCat("postings/", open_one), "wrong"), &same_month).ok());
  EXPECT_EQ(same_month.month(), 4);

  // The closed month's report is untouched; the correction shows from M3 on.
  EXPECT_EQ(ReportBytes(Report(1)), ReportBytes(m1_before));
  int64_t m3_actual = -1;
  const v1::Report m3 = Report(3);
  for (const v1::ReportLine& line : m3.lines()) {
    if (line.node() == kRightcare) m3_actual = line.ytd_actual().pence();
  }
  EXPECT_EQ(m3_actual, 0);
  EXPECT_TRUE(Verify().findings.empty());
}

TEST_P(MonthCloseTest, AClosedMonthsReportIsReproducedByteForByte) {
  PostOk(kRightcare, 1, v1::POSTING_KIND_PLAN, 2000000);
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 1800000);
  PostOk(kTrust, 1, v1::POSTING_KIND_PLAN, 5000000);
  PostOk(kTrust, 1, v1::POSTING_KIND_ACTUAL, 5100000);
  PostOk(kTrust, 9, v1::POSTING_KIND_FORECAST, 400000);
  // The live figures just before the close; once closed the report says so, and is otherwise
  // the same bytes.
  v1::Report before_close = Report(1);
  v1::Report before_close_strict = Report(1, 9900);
  EXPECT_EQ(before_close.period_state(), v1::Period::STATE_OPEN);
  for (v1::Report* r : {&before_close, &before_close_strict}) {
    r->set_period_state(v1::Period::STATE_CLOSED);
    r->add_closed_months(1);
  }
  ASSERT_NO_FATAL_FAILURE(CloseMonth(1));
  EXPECT_EQ(ReportBytes(Report(1)), ReportBytes(before_close));

  // Everything a live report would pick up changes: later actuals, forecasts for later months,
  // a scheme's target, a scheme closed, a new scheme.
  PostOk(kRightcare, 2, v1::POSTING_KIND_ACTUAL, 999999);
  PostOk(kTrust, 10, v1::POSTING_KIND_FORECAST, 7777777);
  {
    v1::UpdateSchemeRequest request;
    request.mutable_scheme()->set_name(kRightcare);
    v1::YearAmount* target = request.mutable_scheme()->add_targets();
    target->set_financial_year(kYear);
    target->mutable_amount()->set_pence(123);
    request.mutable_update_mask()->add_paths("targets");
    v1::Scheme updated;
    grpc::Status status = stub_->UpdateScheme(Ctx().get(), request, &updated);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    v1::CloseSchemeRequest request;
    request.set_name(kTrust);
    v1::Scheme closed;
    ASSERT_TRUE(stub_->CloseScheme(Ctx().get(), request, &closed).ok());
  }
  // Closing the next month does not change it either.
  ASSERT_NO_FATAL_FAILURE(CloseMonth(2));
  Restart();
  EXPECT_EQ(ReportBytes(Report(1)), ReportBytes(before_close));
  // Other thresholds re-rate the stored figures exactly as the live report did.
  EXPECT_EQ(ReportBytes(Report(1, 9900)), ReportBytes(before_close_strict));
  // The open month moved on.
  EXPECT_NE(ReportBytes(Report(2)), ReportBytes(before_close));
  EXPECT_TRUE(Verify().findings.empty());
}

TEST_P(MonthCloseTest, ReopenIsForFinanceAdminsInReverseOrderWithAReasonSignedAndAudited) {
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 100);
  ASSERT_NO_FATAL_FAILURE(CloseMonth(1));
  ASSERT_NO_FATAL_FAILURE(CloseMonth(2));
  // Not for a finance editor (who may close) nor a reader.
  EXPECT_EQ(Reopen(2, "late invoice", kEditor).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Reopen(2, "late invoice", kReader).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Periods()[1].state(), v1::Period::STATE_CLOSED);
  grpc::Status wrong_order = Reopen(1, "fix");
  EXPECT_EQ(wrong_order.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  grpc::Status no_reason = Reopen(2, "");
  EXPECT_EQ(no_reason.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ViolationField(no_reason), "reason");
  v1::Period reopened;
  ASSERT_TRUE(Reopen(2, "late invoice", kAdmin, &reopened).ok());
  EXPECT_EQ(reopened.state(), v1::Period::STATE_OPEN);
  ASSERT_TRUE(Reopen(1, "late invoice").ok());
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 50);
  ASSERT_NO_FATAL_FAILURE(CloseMonth(1));
  const LedgerVerification result = Verify();
  EXPECT_TRUE(result.findings.empty()) << result.findings.front().problem;
  EXPECT_EQ(result.seals_checked, 5);  // close, close, reopen, reopen, close
  EXPECT_EQ(result.postings_checked, 2);

  // The audit trail holds each reopen (who, which period, the outcome) and each refusal.
  common::v1::ListAuditEventsRequest request;
  request.set_page_size(1000);
  absl::StatusOr<common::v1::ListAuditEventsResponse> trail = host_->audit().List(request);
  ASSERT_TRUE(trail.ok()) << trail.status();
  std::vector<std::string> reopens;
  for (const common::v1::AuditEvent& e : trail->events()) {
    if (e.method().find("ReopenPeriod") == std::string::npos) continue;
    reopens.push_back(
        absl::StrCat(e.principal(), " ", e.action(), " ", e.resource(), " ", e.outcome()));
  }
  EXPECT_EQ(reopens, (std::vector<std::string>{
                         "finance-team DENIED financialYears/2020-21/periods/2 PERMISSION_DENIED",
                         "alice DENIED financialYears/2020-21/periods/2 PERMISSION_DENIED",
                         "finance-boss WRITE financialYears/2020-21/periods/1 FAILED_PRECONDITION",
                         "finance-boss WRITE financialYears/2020-21/periods/2 INVALID_ARGUMENT",
                         "finance-boss WRITE financialYears/2020-21/periods/2 OK",
                         "finance-boss WRITE financialYears/2020-21/periods/1 OK"}));
}

// A posting's audit event is written in its group's transaction (the audit outbox, as a row that
// views the call's own strings): who, the method, the posting it created, the call's request id
// and the outcome; a refused posting's names no posting.
TEST_P(MonthCloseTest, APostingsAuditEventNamesItsPostingAndOutcome) {
  const int64_t id = PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 100);
  ASSERT_NO_FATAL_FAILURE(CloseMonth(1));
  EXPECT_EQ(
      Post(MakePosting(kRightcare, kYear, 1, v1::POSTING_KIND_ACTUAL, 7, "late")).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  // Both events went into the store's outbox with their groups; the trail's writer moves them
  // within 20 ms, so the trail is read after a Flush (as ListAuditEvents does), not before.
  ASSERT_TRUE(host_->audit().Flush());
  common::v1::ListAuditEventsRequest request;
  request.set_page_size(1000);
  absl::StatusOr<common::v1::ListAuditEventsResponse> trail = host_->audit().List(request);
  ASSERT_TRUE(trail.ok()) << trail.status();
  std::vector<std::string> posts;
  for (const common::v1::AuditEvent& e : trail->events()) {
    if (e.method() != "/dorset.finance.v1.FinanceService/CreatePosting") continue;
    posts.push_back(
        absl::StrCat(e.principal(), " ", e.action(), " ", e.resource(), " ", e.outcome()));
    EXPECT_FALSE(e.request_id().empty());
    EXPECT_GT(e.time().seconds(), 1700000000);
  }
  EXPECT_EQ(posts,
            (std::vector<std::string>{absl::StrCat("finance-team WRITE postings/", id, " OK"),
                                      "finance-team WRITE  FAILED_PRECONDITION"}));
}

TEST_P(MonthCloseTest, VerifyNamesAPostingEditedInTheStore) {
  for (int i = 0; i < 6; ++i) PostOk(kRightcare, 1 + i % 2, v1::POSTING_KIND_ACTUAL, 100 + i);
  ASSERT_NO_FATAL_FAILURE(CloseMonth(1));
  PostOk(kTrust, 3, v1::POSTING_KIND_ACTUAL, 1);
  EXPECT_TRUE(Verify().findings.empty());
  ASSERT_NO_FATAL_FAILURE(Tamper("UPDATE posting SET amount_pence = 1000000 WHERE id = 4"));
  const LedgerVerification result = Verify();
  ASSERT_FALSE(result.findings.empty());
  EXPECT_EQ(result.first_mismatch, 4);
  EXPECT_NE(result.findings.front().problem.find("postings/4 does not match its chain hash"),
            std::string::npos)
      << result.findings.front().problem;
}

TEST_P(MonthCloseTest, VerifyFindsARowRewrittenWithEveryLaterHashThroughTheSeal) {
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 100);  // 1
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 200);  // 2
  ASSERT_NO_FATAL_FAILURE(CloseMonth(1));               // seals head 2
  PostOk(kRightcare, 2, v1::POSTING_KIND_ACTUAL, 300);  // 3
  PostOk(kRightcare, 2, v1::POSTING_KIND_ACTUAL, 400);  // 4
  PostOk(kTrust, 2, v1::POSTING_KIND_ACTUAL, 500);      // 5
  ASSERT_NO_FATAL_FAILURE(CloseMonth(2));               // seals head 5
  PostOk(kTrust, 3, v1::POSTING_KIND_ACTUAL, 600);      // 6

  // The forger changes posting 4 and rewrites its hash and every later one with the public
  // algorithm, so the chain is consistent again; only the seal key could vouch otherwise.
  // The running total is made to agree too, so only the chain and its seals can tell.
  ASSERT_NO_FATAL_FAILURE(Tamper(
      "UPDATE posting SET amount_pence = 40000000 WHERE id = 4; UPDATE total SET amount_pence = "
      "amount_pence + 39999600 WHERE year = 2020 AND month = 2 AND kind = 2 AND scheme_id = "
      "(SELECT scheme_id FROM posting WHERE id = 4)"));
  absl::StatusOr<std::vector<std::pair<int64_t, std::pair<std::string, std::string>>>> rewritten =
      module_->store().Read(
          [&](Transaction& tx)
              -> absl::StatusOr<
                  std::vector<std::pair<int64_t, std::pair<std::string, std::string>>>> {
            absl::StatusOr<Statement> rows =
                tx.Prepare(absl::StrCat("SELECT ", kChainedColumns, " FROM ", kChainedJoins,
                                        " WHERE p.year = ", kYearNumber, " ORDER BY p.id"));
            if (!rows.ok()) return rows.status();
            std::vector<std::pair<int64_t, std::pair<std::string, std::string>>> out;
            std::string prev = GenesisHash(kYearNumber);
            while (true) {
              absl::StatusOr<bool> more = rows->Step();
              if (!more.ok()) return more.status();
              if (!*more) break;
              const ChainedRow row = ReadChained(*rows);
              const std::string hash = PostingHash(row.posting, prev);
              out.push_back({row.posting.id, {prev, hash}});
              prev = hash;
            }
            return out;
          });
  ASSERT_TRUE(rewritten.ok()) << rewritten.status();
  std::string sql;
  for (const auto& [id, link] : *rewritten) {
    absl::StrAppend(&sql, "UPDATE posting_chain SET prev_hash = '", link.first, "', hash = '",
                    link.second, "' WHERE posting_id = ", id, ";");
  }
  ASSERT_NO_FATAL_FAILURE(Tamper(sql));

  const LedgerVerification result = Verify();
  ASSERT_EQ(result.findings.size(), 1u);  // the chain alone no longer shows it
  EXPECT_EQ(result.findings[0].period, "financialYears/2020-21/periods/2");
  // Named: the first posting after the last seal that still holds (M1's head, posting 2).
  EXPECT_EQ(result.first_mismatch, 3);
  EXPECT_NE(result.findings[0].problem.find("from postings/3 to postings/5"), std::string::npos)
      << result.findings[0].problem;
}

TEST_P(MonthCloseTest, SealsAreSignedWithTheKeyOutsideTheDatabase) {
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 100);
  ASSERT_NO_FATAL_FAILURE(CloseMonth(1));
  absl::StatusOr<LedgerVerification> other_key =
      VerifyLedger(module_->store(), std::string(64, 'k'), std::nullopt);
  ASSERT_TRUE(other_key.ok()) << other_key.status();
  ASSERT_EQ(other_key->findings.size(), 1u);
  EXPECT_NE(other_key->findings[0].problem.find("is not signed by the seal key"),
            std::string::npos);
  // Closing a month by editing its row (no seal) is found too.
  ASSERT_NO_FATAL_FAILURE(
      Tamper("INSERT INTO period(year, month, state, seal_id, update_micros) VALUES (2020, 2, 3, "
             "NULL, 0)"));
  const LedgerVerification result = Verify();
  ASSERT_EQ(result.findings.size(), 1u);
  EXPECT_EQ(result.findings[0].period, "financialYears/2020-21/periods/2");
}

TEST_P(MonthCloseTest, VerifyFindsARunningTotalEditedInTheStore) {
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 100);
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 200);
  EXPECT_TRUE(Verify().findings.empty());
  // Reports read the totals, so an edited total changes a report without touching the chain.
  ASSERT_NO_FATAL_FAILURE(Tamper("UPDATE total SET amount_pence = 3000 WHERE year = 2020"));
  const LedgerVerification result = Verify();
  ASSERT_EQ(result.findings.size(), 1u);
  EXPECT_NE(result.findings[0].problem.find("is 3000 pence but its postings add up to 300"),
            std::string::npos)
      << result.findings[0].problem;
}

TEST_P(MonthCloseTest, PostingsFromBeforeTheChainAreLinkedAtStart) {
  PostOk(kRightcare, 1, v1::POSTING_KIND_ACTUAL, 100);
  PostOk(kRightcare, 2, v1::POSTING_KIND_ACTUAL, 200);
  PostOk(kTrust, 2, v1::POSTING_KIND_ACTUAL, 300);
  // As a store written before migration step 3: no links.
  ASSERT_NO_FATAL_FAILURE(Tamper(GetParam() == Engine::kSqlite
                                     ? "DELETE FROM posting_chain"
                                     : "ALTER TABLE posting_chain DISABLE TRIGGER "
                                       "posting_chain_no_update; DELETE FROM posting_chain"));
  EXPECT_EQ(Verify().first_mismatch, 1);
  Restart();
  const LedgerVerification result = Verify();
  EXPECT_TRUE(result.findings.empty());
  EXPECT_EQ(result.postings_checked, 3);
  PostOk(kTrust, 3, v1::POSTING_KIND_ACTUAL, 400);
  EXPECT_TRUE(Verify().findings.empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, MonthCloseTest,
                         ::testing::Values(Engine::kSqlite, Engine::kPostgres),
                         [](const auto& info) {
                           return std::string(runtime::storage::EngineName(info.param));
                         });

// One posting of the chain tests, every field set.
ChainedPosting SamplePosting() {
  return ChainedPosting{.id = 7,
                        .year = 2020,
                        .month = 3,
                        .kind = 2,
                        .scheme = "plans/p/programmes/a/schemes/b",
                        .amount = -1234,
                        .principal = "alice",
                        .create_micros = 1600000000000000,
                        .reason = "r",
                        .request_id = "q",
                        .reverses = std::nullopt};
}

// The chain's arithmetic alone (no store).
TEST(LedgerChainTest, EveryFieldChangesThePostingHash) {
  const ChainedPosting base = SamplePosting();
  const std::string h = PostingHash(base, GenesisHash(2020));
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h, PostingHash(base, GenesisHash(2020)));
  std::vector<ChainedPosting> changed(11, base);
  changed[0].id = 8;
  changed[1].year = 2019;
  changed[2].month = 4;
  changed[3].kind = 1;
  changed[4].scheme += "x";
  changed[5].amount = 1234;
  changed[6].principal = "bob";
  changed[7].create_micros += 1;
  changed[8].reason = "s";
  changed[9].request_id = "z";
  changed[10].reverses = 3;
  for (const ChainedPosting& c : changed) EXPECT_NE(PostingHash(c, GenesisHash(2020)), h);
  EXPECT_NE(PostingHash(base, GenesisHash(2019)), h);
  // Length prefixes: moving a character from one field to the next changes the hash.
  ChainedPosting a = base, b = base;
  a.reason = "ab";
  a.request_id = "c";
  b.reason = "a";
  b.request_id = "bc";
  EXPECT_NE(PostingHash(a, ""), PostingHash(b, ""));
}

// The chain's bytes never change (stored chains must keep verifying): fixed vectors, computed
// outside this code (Python's hashlib over the documented encoding).
TEST(LedgerChainTest, PostingHashesAreTheDocumentedBytes) {
  EXPECT_EQ(GenesisHash(2020), "6e2606d6dac6cbbca10424dbaa0402b2cc12519e5c9f21cffc3500ec7ed0ec9c");
  ChainedPosting p = SamplePosting();
  EXPECT_EQ(PostingHash(p, GenesisHash(2020)),
            "44d049d940f3610bad1cd70c42c071a5f3bbcdb28878a4ada43674e1e338f190");
  p.id = std::numeric_limits<int64_t>::max();
  p.amount = std::numeric_limits<int64_t>::min();
  p.reverses = 42;
  p.reason = "\u00a3 reason with \u00fc";  // lengths count bytes
  p.request_id = "";
  EXPECT_EQ(PostingHash(p, ""), "066bce4a52471412f1b14d1da11304265ae7cf29e4b7b7b44d7b541f17482e7f");
}

TEST(LedgerChainTest, SealSignatureDependsOnKeyAndContent) {
  SealContent seal{.year = 2020,
                   .month = 1,
                   .action = "close",
                   .head_posting_id = 9,
                   .head_hash = "h",
                   .posting_count = 9,
                   .snapshot_digest = "d",
                   .principal = "p",
                   .reason = "",
                   .create_micros = 1};
  const std::string key(32, 'a');
  const std::string sig = SealSignature(key, seal);
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(SignaturesEqual(sig, SealSignature(key, seal)));
  EXPECT_FALSE(SignaturesEqual(sig, SealSignature(std::string(32, 'b'), seal)));
  seal.head_hash = "g";
  EXPECT_FALSE(SignaturesEqual(sig, SealSignature(key, seal)));
}

TEST(LedgerChainTest, SealKeyFile) {
  dorset::testing::TempDir dir;
  // Default: made once beside the store, the same on every later start.
  absl::StatusOr<std::string> made = LoadSealKey("", dir.path());
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(*LoadSealKey("", dir.path()), *made);
  // A configured file: used as it is (a trailing newline ignored); too short or missing refused.
  const std::string file = dir.File("seal.key");
  { std::ofstream(file) << std::string(40, 'k') << "\n"; }
  EXPECT_EQ(*LoadSealKey(file, dir.path()), std::string(40, 'k'));
  { std::ofstream(file, std::ios::trunc) << "short\n"; }
  absl::StatusOr<std::string> short_key = LoadSealKey(file, dir.path());
  EXPECT_EQ(short_key.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(short_key.status().message().find("ledger_seal_key_file"), std::string::npos);
  EXPECT_EQ(LoadSealKey(dir.File("missing"), dir.path()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace dorset::finance
