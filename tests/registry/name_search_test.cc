// Name and postcode search on the engine of this test run (issue 16): ListPractices served from
// the search indexes (SQLite FTS5 trigram, PostgreSQL pg_trgm; postcode by its B-tree) returns
// exactly what the scan of every practice returns — the same practices, order, pages, cursors
// and total_size — on the national extract, for texts shorter than a trigram too; and the
// index follows the registry's writes (a renamed practice is found by its new name only). And
// the pages served as bytes (storage/practice_bytes.h) are the pages' messages serialised.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/registry/storage/list_memo.h"
#include "services/registry/storage/store.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

using Order = PracticeQuery::Order;
using Plan = PracticeQuery::Plan;

// One page as the comparison sees it: codes in order, the cursor and the total.
struct PageView {
  std::vector<std::string> codes;
  std::optional<PracticeCursor> last;
  int total = 0;
};

std::string Describe(const PracticeQuery& q) {
  return absl::StrCat("contains='", q.name_contains, "' prefix='", q.name_prefix, "' postcode='",
                      q.postcode_prefix_key, "' order=", static_cast<int>(q.order),
                      q.descending ? " desc" : "", " statuses=", q.statuses.size());
}

class NameSearchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = RegistryEnv::Start().release();
    ASSERT_NE(env_, nullptr);
    auto report =
        env_->Import(v1::IMPORT_KIND_EPRACCUR, SourceFile("data/ods/epraccur-2025-05.csv"), "all");
    ASSERT_TRUE(report.ok()) << report.status();
    ASSERT_EQ(report->added(), 16534);
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  static Store& store() { return *env_->module().store(); }

  static PageView Page(PracticeQuery q, Plan plan, const std::optional<PracticeCursor>& after,
                       int limit) {
    q.plan = plan;
    absl::StatusOr<PracticePage> page = store().ListPractices(q, after, limit);
    EXPECT_TRUE(page.ok()) << page.status();
    PageView view;
    if (!page.ok()) return view;
    for (const v1::Practice& p : page->practices) view.codes.push_back(p.ods_code());
    view.last = page->last;
    view.total = page->total_size;
    return view;
  }

  // Pages through `q` on both plans side by side (at most `max_pages`), comparing each page;
  // returns the total.
  static int ExpectSameAsScan(const PracticeQuery& q, int limit, int max_pages) {
    std::optional<PracticeCursor> after;
    int total = -1;
    for (int n = 0; n < max_pages; ++n) {
      const PageView scan = Page(q, Plan::kScan, after, limit);
      const PageView indexed = Page(q, Plan::kIndexed, after, limit);
      EXPECT_EQ(indexed.codes, scan.codes) << Describe(q) << " page " << n;
      EXPECT_EQ(indexed.total, scan.total) << Describe(q);
      EXPECT_EQ(indexed.last.has_value(), scan.last.has_value()) << Describe(q);
      if (indexed.last.has_value() && scan.last.has_value()) {
        EXPECT_EQ(indexed.last->ods_code, scan.last->ods_code) << Describe(q);
        EXPECT_EQ(indexed.last->text, scan.last->text) << Describe(q);
        EXPECT_EQ(indexed.last->number, scan.last->number) << Describe(q);
      }
      total = scan.total;
      if (!scan.last.has_value() || ::testing::Test::HasFailure()) break;
      after = scan.last;
    }
    return total;
  }

  // Pages through `q` as messages and as reply bytes (ListPracticeBytes) side by side: the bytes
  // are the messages serialised as ListPracticesResponse's practices, with the same cursors and
  // totals. Returns the pages compared.
  static int ExpectBytesAreTheMessages(const PracticeQuery& q, int limit, int max_pages) {
    constexpr int kField = v1::ListPracticesResponse::kPracticesFieldNumber;
    std::optional<PracticeCursor> after;
    int pages = 0;
    while (pages < max_pages) {
      absl::StatusOr<PracticePage> messages = store().ListPractices(q, after, limit);
      absl::StatusOr<PracticeBytesPage> bytes = store().ListPracticeBytes(q, after, limit, kField);
      EXPECT_TRUE(messages.ok()) << messages.status();
      EXPECT_TRUE(bytes.ok()) << bytes.status();
      if (!messages.ok() || !bytes.ok()) break;
      ++pages;
      v1::ListPracticesResponse serialized;
      for (const v1::Practice& p : messages->practices) *serialized.add_practices() = p;
      EXPECT_EQ(bytes->practices, serialized.SerializeAsString())
          << Describe(q) << " page " << pages;
      EXPECT_EQ(bytes->size, static_cast<int>(messages->practices.size())) << Describe(q);
      EXPECT_EQ(bytes->total_size, messages->total_size) << Describe(q);
      EXPECT_EQ(bytes->last.has_value(), messages->last.has_value()) << Describe(q);
      if (bytes->last.has_value() && messages->last.has_value()) {
        EXPECT_EQ(bytes->last->ods_code, messages->last->ods_code) << Describe(q);
        EXPECT_EQ(bytes->last->text, messages->last->text) << Describe(q);
        EXPECT_EQ(bytes->last->number, messages->last->number) << Describe(q);
      }
      if (!messages->last.has_value() || ::testing::Test::HasFailure()) break;
      after = messages->last;
    }
    return pages;
  }

  static RegistryEnv* env_;
};

RegistryEnv* NameSearchTest::env_ = nullptr;

// One case per engine: loading the national extract is most of its time.
TEST_F(NameSearchTest, IndexedSearchIsTheScanOnTheNationalExtract) {
  // Common and rare words, any case, several words, punctuation, LIKE's wildcards, quotes
  // (FTS5's syntax), no match, and texts of one and two characters (served by the scan).
  const std::vector<std::string> texts = {
      "surgery", "SURGERY", "Medical Centre", "orchid", "st. ", "dr ",  "&", "a",   "ab",
      "zq",      "x%y",     "100%",           "_",      "\"",   "o\"n", "'", "hea", "qqqq",
      "é",       "ÉCOLE",   "health centre "};
  int compared = 0;
  for (const std::string& text : texts) {
    PracticeQuery q;
    q.name_contains = text;
    ExpectSameAsScan(q, 50, 3);
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(texts.size()));

  // A common word's every page, in every order and direction, with and without a status
  // filter: page boundaries and cursors are the scan's.
  PracticeQuery q;
  q.name_contains = "surgery";
  EXPECT_GT(ExpectSameAsScan(q, 500, 100), 3000);
  for (Order order : {Order::kOdsCode, Order::kDisplayName, Order::kPostcode, Order::kUpdateTime,
                      Order::kListSize}) {
    for (bool descending : {false, true}) {
      q.order = order;
      q.descending = descending;
      q.statuses = {static_cast<int>(v1::Practice::STATUS_ACTIVE)};
      ExpectSameAsScan(q, 50, 3);
      q.statuses.clear();
      q.name_contains = "medical";
      ExpectSameAsScan(q, 200, 2);
      q.name_contains = "surgery";
    }
  }

  // The cold common search's every page in code order, both directions (on SQLite the page's
  // codes chosen by a walk of the covering index practice_by_status_name, then the rows read).
  PracticeQuery active;
  active.name_contains = "Surgery";
  active.statuses = {static_cast<int>(v1::Practice::STATUS_ACTIVE)};
  for (bool descending : {false, true}) {
    active.descending = descending;
    EXPECT_GT(ExpectSameAsScan(active, 50, 100), 2000) << "descending " << descending;
  }

  // name_prefix (alone and with name_contains) and postcode_prefix.
  for (const char* prefix : {"the ", "THE SURGERY", "dr", "d", "st ", "zzz", "%"}) {
    PracticeQuery q;
    q.name_prefix = prefix;
    ExpectSameAsScan(q, 100, 3);
    q.name_contains = "surgery";  // both filters at once
    ExpectSameAsScan(q, 100, 3);
  }
  for (const char* postcode : {"B", "BH22", "SW1A1", "M1", "ZZ9"}) {
    PracticeQuery q;
    q.postcode_prefix_key = postcode;
    q.order = Order::kPostcode;
    ExpectSameAsScan(q, 100, 3);
    q.name_contains = "medical";
    ExpectSameAsScan(q, 100, 3);
  }
}

// ListPractices' replies are assembled from each practice's bytes (storage/practice_bytes.h):
// every page of the national extract, first worked out and then from the memo, and common
// searches in several orders, are byte for byte the message path's pages.
TEST_F(NameSearchTest, PagesAsBytesAreThePagesSerialized) {
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(ExpectBytesAreTheMessages(PracticeQuery{}, 500, 100), 34) << "round " << round;
  }
  PracticeQuery q;
  q.name_contains = "surgery";
  q.statuses = {static_cast<int>(v1::Practice::STATUS_ACTIVE)};
  for (Order order : {Order::kOdsCode, Order::kDisplayName, Order::kListSize}) {
    for (bool descending : {false, true}) {
      q.order = order;
      q.descending = descending;
      EXPECT_EQ(ExpectBytesAreTheMessages(q, 50, 3), 3) << Describe(q);
    }
  }
  PracticeQuery postcode;
  postcode.postcode_prefix_key = "BH22";
  postcode.order = Order::kPostcode;
  EXPECT_GE(ExpectBytesAreTheMessages(postcode, 5, 10), 1);
  PracticeQuery none;
  none.name_contains = "qqqq";
  EXPECT_EQ(ExpectBytesAreTheMessages(none, 50, 2), 1);
}

// The cold common search's every page in code order, both directions, after every practice's
// bytes were kept: on SQLite those pages come from the walked index and the kept bytes alone
// (Store::ListPracticeRows, PracticeBytesMemo::AppendKeptField), and are still the messages.
TEST_F(NameSearchTest, KeptPagesOfTheCommonSearchAreThePagesSerialized) {
  EXPECT_EQ(ExpectBytesAreTheMessages(PracticeQuery{}, 500, 100), 34);  // every practice kept
  PracticeQuery active;
  active.name_contains = "Surgery";
  active.statuses = {static_cast<int>(v1::Practice::STATUS_ACTIVE)};
  for (bool descending : {false, true}) {
    active.descending = descending;
    EXPECT_GT(ExpectBytesAreTheMessages(active, 50, 100), 40) << "descending " << descending;
  }
}

// A page served from kept bytes follows the registry's writes: a practice written again has a
// new revision, so its old bytes are not served for it (on a store of its own, small enough that
// a page of one is walked: 2 * (1 + 1) * 4 <= 4 * 4, practice_pages.cc WalkNamePage).
TEST(NameSearch, KeptPagesFollowTheRegistrysWrites) {
  std::unique_ptr<RegistryEnv> env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  std::vector<v1::Practice> created;
  for (const char* code : {"Y99911", "Y99912", "Y99913", "Y99914"}) {
    auto practice = env->Create(NewPractice(code, absl::StrCat(code, " SURGERY")));
    ASSERT_TRUE(practice.ok()) << practice.status();
    created.push_back(*practice);
  }
  PracticeQuery q;
  q.name_contains = "surgery";
  q.statuses = {static_cast<int>(v1::Practice::STATUS_ACTIVE)};
  constexpr int kField = v1::ListPracticesResponse::kPracticesFieldNumber;
  // Every page of one as bytes, and as messages serialised.
  auto pages = [&](std::vector<std::string>& bytes, std::vector<std::string>& messages) {
    bytes.clear();
    messages.clear();
    std::optional<PracticeCursor> after;
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<PracticeBytesPage> b =
          env->module().store()->ListPracticeBytes(q, after, 1, kField);
      absl::StatusOr<PracticePage> m = env->module().store()->ListPractices(q, after, 1);
      ASSERT_TRUE(b.ok()) << b.status();
      ASSERT_TRUE(m.ok()) << m.status();
      ASSERT_EQ(b->last.has_value(), m->last.has_value());
      bytes.push_back(b->practices);
      v1::ListPracticesResponse serialized;
      for (const v1::Practice& p : m->practices) *serialized.add_practices() = p;
      messages.push_back(serialized.SerializeAsString());
      if (!m->last.has_value()) break;
      EXPECT_EQ(b->last->ods_code, m->last->ods_code);
      after = m->last;
    }
  };
  std::vector<std::string> bytes, messages;
  for (int round = 0; round < 2; ++round) {  // worked out, then kept
    pages(bytes, messages);
    ASSERT_EQ(bytes.size(), 4u);
    EXPECT_EQ(bytes, messages) << "round " << round;
  }
  grpc::ClientContext context;
  v1::UpdatePracticeRequest update;
  update.mutable_practice()->set_name("practices/Y99912");
  update.mutable_practice()->set_etag(created[1].etag());
  update.mutable_practice()->set_display_name("Y99912 NEW SURGERY");
  update.mutable_update_mask()->add_paths("display_name");
  v1::Practice updated;
  grpc::Status status = env->stub().UpdatePractice(&context, update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (int round = 0; round < 2; ++round) {
    pages(bytes, messages);
    ASSERT_EQ(bytes.size(), 4u);
    EXPECT_EQ(bytes, messages) << "after the write, round " << round;
    EXPECT_NE(bytes[1].find("Y99912 NEW SURGERY"), std::string::npos) << "round " << round;
  }
}

// On a store of its own (no national extract): created and renamed practices.
TEST(NameSearch, TheIndexFollowsTheRegistrysWrites) {
  std::unique_ptr<RegistryEnv> env = RegistryEnv::Start();
  ASSERT_NE(env, nullptr);
  auto count = [&](const std::string& text, Plan plan) {
    PracticeQuery q;
    q.name_contains = text;
    q.plan = plan;
    absl::StatusOr<PracticePage> page = env->module().store()->ListPractices(q, std::nullopt, 10);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->total_size : -1;
  };
  ASSERT_EQ(count("zebrafinch", Plan::kScan), 0);
  ASSERT_EQ(count("otterholt", Plan::kScan), 0);
  // Counted (and kept for this version of the data) before the writes: each write makes a new
  // version, so the kept counts are not served after it.
  ASSERT_EQ(count("ebrafin", Plan::kIndexed), 0);
  ASSERT_EQ(count("terhol", Plan::kIndexed), 0);

  auto created = env->Create(NewPractice("Y99901", "ZEBRAFINCH HEALTH CENTRE"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(count("ebrafin", Plan::kIndexed), 1);
  EXPECT_EQ(count("zebrafinch health", Plan::kIndexed), 1);

  grpc::ClientContext context;
  v1::UpdatePracticeRequest update;
  update.mutable_practice()->set_name("practices/Y99901");
  update.mutable_practice()->set_etag(created->etag());
  update.mutable_practice()->set_display_name("OTTERHOLT CLINIC");
  update.mutable_update_mask()->add_paths("display_name");
  v1::Practice updated;
  grpc::Status status = env->stub().UpdatePractice(&context, update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (Plan plan : {Plan::kIndexed, Plan::kScan}) {
    EXPECT_EQ(count("ebrafin", plan), 0);
    EXPECT_EQ(count("terhol", plan), 1);
    EXPECT_EQ(count("OTTERHOLT clinic", plan), 1);
  }
}

// ListPractices' memo serves a count only for the version of the data it was counted at, and
// never brings back a version older than one it has seen.
TEST(ListMemo, ACountIsServedForItsOwnVersionOnly) {
  ListMemo memo;
  EXPECT_EQ(memo.Count("q", 5), std::nullopt);
  memo.KeepCount("q", 5, 10);
  EXPECT_EQ(memo.Count("q", 5), 10);
  EXPECT_EQ(memo.Count("q", 6), std::nullopt);
  EXPECT_EQ(memo.Count("other", 5), std::nullopt);
  memo.KeepCount("q", 6, 11);
  EXPECT_EQ(memo.Count("q", 6), 11);
  EXPECT_EQ(memo.Count("q", 5), std::nullopt);
  memo.KeepCount("q", 5, 10);  // a reader of an older snapshot finishing late
  EXPECT_EQ(memo.Count("q", 5), std::nullopt);
  EXPECT_EQ(memo.Count("q", 6), 11);
  for (size_t i = 0; i < 3 * ListMemo::kMaxCounts; ++i) {
    memo.KeepCount(absl::StrCat("k", i), 6, static_cast<int64_t>(i));
  }
  EXPECT_EQ(memo.Count(absl::StrCat("k", 3 * ListMemo::kMaxCounts - 1), 6),
            static_cast<int64_t>(3 * ListMemo::kMaxCounts - 1));
}

}  // namespace
}  // namespace dorset::registry::testing
