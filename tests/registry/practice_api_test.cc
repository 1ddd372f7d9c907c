// Practices, localities, clusters and the summary over gRPC: success and error paths, etags,
// filters, ordering and pagination while another client writes.
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "runtime/status/grpc_status.h"
#include "runtime/storage/etag.h"
#include "tests/registry/registry_test_env.h"

namespace dorset::registry::testing {
namespace {

using ::testing::HasSubstr;

class PracticeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = RegistryEnv::Start();
    ASSERT_NE(env_, nullptr);
    env_->LoadDorset();
  }

  grpc::Status List(const v1::ListPracticesRequest& request, v1::ListPracticesResponse* response) {
    grpc::ClientContext context;
    response->Clear();
    return env_->stub().ListPractices(&context, request, response);
  }

  grpc::Status Update(const v1::Practice& practice, std::vector<std::string> paths,
                      v1::Practice* out, const std::string& request_id = "") {
    grpc::ClientContext context;
    v1::UpdatePracticeRequest request;
    *request.mutable_practice() = practice;
    for (auto& p : paths) request.mutable_update_mask()->add_paths(p);
    request.set_request_id(request_id);
    return env_->stub().UpdatePractice(&context, request, out);
  }

  grpc::Status Close(const std::string& code, const std::string& successor, v1::Practice* out,
                     const std::string& etag = "", const std::string& date = "2025-06-30") {
    grpc::ClientContext context;
    v1::ClosePracticeRequest request;
    request.set_name("practices/" + code);
    if (!successor.empty()) request.set_successor("practices/" + successor);
    request.set_etag(etag);
    request.set_close_date(date);
    return env_->stub().ClosePractice(&context, request, out);
  }

  // The field names of a BadRequest detail.
  static std::vector<std::string> BadFields(const grpc::Status& status) {
    std::vector<std::string> fields;
    const google::rpc::Status details = runtime::DecodeDetails(status);
    for (const auto& any : details.details()) {
      google::rpc::BadRequest bad;
      if (any.UnpackTo(&bad)) {
        for (const auto& v : bad.field_violations()) fields.push_back(v.field());
      }
    }
    return fields;
  }

  std::unique_ptr<RegistryEnv> env_;
};

TEST_F(PracticeApiTest, GetPracticeSuccessAndErrors) {
  auto practice = env_->Get("J81016");
  ASSERT_TRUE(practice.ok()) << practice.status();
  EXPECT_EQ(practice->name(), "practices/J81016");
  EXPECT_FALSE(practice->etag().empty());
  EXPECT_TRUE(practice->has_create_time());
  EXPECT_EQ(env_->Get("J99999").status().code(), absl::StatusCode::kNotFound);
  for (const char* bad :
       {"", "practices/", "practices/j81016", "localities/J81016", "practices/J8101"}) {
    grpc::ClientContext context;
    v1::GetPracticeRequest request;
    request.set_name(bad);
    v1::Practice out;
    grpc::Status status = env_->stub().GetPractice(&context, request, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(BadFields(status), ::testing::ElementsAre("name"));
  }
}

TEST_F(PracticeApiTest, CreateValidatesAndRefusesDuplicates) {
  v1::Practice p = NewPractice("Y09901");
  p.set_locality("localities/poole-central");
  auto created = env_->Create(p);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->name(), "practices/Y09901");
  EXPECT_EQ(created->postcode(), "BH15 1AA");  // normalised
  EXPECT_EQ(created->etag(), "W/\"1\"");
  EXPECT_EQ(env_->Create(p).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(env_->Create(NewPractice("J81016")).status().code(), absl::StatusCode::kAlreadyExists);

  // A retried create with the same request_id returns the first result, not ALREADY_EXISTS.
  auto once = env_->Create(NewPractice("Y09902"), "req-42");
  ASSERT_TRUE(once.ok());
  auto twice = env_->Create(NewPractice("Y09902"), "req-42");
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(twice->etag(), once->etag());

  struct Case {
    std::function<void(v1::Practice&)> edit;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](v1::Practice& x) { x.set_ods_code("X1"); }, "practice.ods_code"},
      {[](v1::Practice& x) { x.set_postcode("NOT A POSTCODE"); }, "practice.postcode"},
      {[](v1::Practice& x) { x.set_display_name(std::string(101, 'N')); }, "practice.display_name"},
      {[](v1::Practice& x) { x.set_display_name(""); }, "practice.display_name"},
      {[](v1::Practice& x) { x.set_open_date("2024-02-30"); }, "practice.open_date"},
      {[](v1::Practice& x) { x.set_close_date("31/12/2024"); }, "practice.close_date"},
      {[](v1::Practice& x) { x.set_status(v1::Practice::STATUS_UNSPECIFIED); }, "practice.status"},
      {[](v1::Practice& x) { x.set_telephone("call me"); }, "practice.telephone"},
      {[](v1::Practice& x) { x.set_locality("poole"); }, "practice.locality"},
      {[](v1::Practice& x) { x.set_list_size(-1); }, "practice.list_size"},
      {[](v1::Practice& x) { x.set_successor("practices/J81016"); }, "practice.successor"},
  };
  for (const Case& c : cases) {
    v1::Practice bad = NewPractice("Y09903");
    c.edit(bad);
    grpc::ClientContext context;
    v1::CreatePracticeRequest request;
    *request.mutable_practice() = bad;
    v1::Practice out;
    grpc::Status status = env_->stub().CreatePractice(&context, request, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(BadFields(status), ::testing::Contains(c.field));
  }
  v1::Practice unknown_locality = NewPractice("Y09903");
  unknown_locality.set_locality("localities/atlantis");
  EXPECT_EQ(env_->Create(unknown_locality).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(env_->Get("Y09903").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PracticeApiTest, UpdateWithEtagsAndMasks) {
  auto current = env_->Get("J81002");
  ASSERT_TRUE(current.ok());
  v1::Practice patch;
  patch.set_name("practices/J81002");
  patch.set_etag(current->etag());
  patch.set_telephone("01202 111111");
  patch.set_display_name("IGNORED: NOT IN THE MASK");
  v1::Practice updated;
  ASSERT_TRUE(Update(patch, {"telephone"}, &updated).ok());
  EXPECT_EQ(updated.telephone(), "01202 111111");
  EXPECT_EQ(updated.display_name(), "ORCHID HOUSE SURGERY");
  EXPECT_NE(updated.etag(), current->etag());

  // The same etag again is stale now.
  patch.set_telephone("01202 222222");
  grpc::Status stale = Update(patch, {"telephone"}, &updated);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(env_->Get("J81002")->telephone(), "01202 111111");
  // An etag in another spelling (an older release's `r2`) is not an etag: INVALID_ARGUMENT.
  patch.set_etag("r2");
  grpc::Status malformed = Update(patch, {"telephone"}, &updated);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(malformed), ::testing::ElementsAre("practice.etag"));
  patch.set_etag(updated.etag());
  const absl::StatusOr<int64_t> before = runtime::storage::ParseEtag(updated.etag());
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE(Update(patch, {"telephone"}, &updated).ok());
  EXPECT_EQ(updated.etag(), runtime::storage::Etag(*before + 1));

  // Moving locality changes derived counts.
  patch.set_etag("");
  patch.set_locality("localities/purbeck");
  ASSERT_TRUE(Update(patch, {"locality"}, &updated).ok());
  EXPECT_EQ(updated.locality(), "localities/purbeck");

  grpc::Status bad_mask = Update(patch, {"ods_code"}, &updated);
  EXPECT_EQ(bad_mask.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(bad_mask), ::testing::ElementsAre("update_mask.paths"));
  EXPECT_EQ(Update(patch, {}, &updated).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  patch.set_status(v1::Practice::STATUS_CLOSED);
  EXPECT_EQ(Update(patch, {"status"}, &updated).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  patch.set_postcode("ZZ");
  EXPECT_EQ(Update(patch, {"postcode"}, &updated).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  patch.set_locality("localities/nowhere");
  EXPECT_EQ(Update(patch, {"locality"}, &updated).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  patch.set_name("practices/J99999");
  patch.set_telephone("0");
  EXPECT_EQ(Update(patch, {"telephone"}, &updated).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PracticeApiTest, ConcurrentUpdatesWithTheSameEtagOnlyOneWins) {
  auto current = env_->Get("J81016");
  ASSERT_TRUE(current.ok());
  std::atomic<int> ok{0}, aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      v1::Practice patch;
      patch.set_name("practices/J81016");
      patch.set_etag(current->etag());
      patch.set_telephone("01202 00000" + std::to_string(i));
      v1::Practice out;
      grpc::Status status = Update(patch, {"telephone"}, &out);
      if (status.ok()) ++ok;
      if (status.error_code() == grpc::StatusCode::ABORTED) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), 7);
}

TEST_F(PracticeApiTest, CloseNeedsAnExistingOpenSuccessorAndKeepsRevisions) {
  v1::Practice out;
  EXPECT_EQ(Close("J81016", "J99999", &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Close("J81016", "J81003", &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << "J81003 is closed";
  EXPECT_EQ(Close("J81016", "J81016", &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Close("J81016", "", &out, "", "2025-02-30").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Close("J81016", "", &out, "W/\"999\"").error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(Close("J99999", "", &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Close("J81016", "", &out, "", "1900-01-01").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  ASSERT_TRUE(Close("J81016", "J81002", &out).ok());
  EXPECT_EQ(out.status(), v1::Practice::STATUS_CLOSED);
  EXPECT_EQ(out.successor(), "practices/J81002");
  EXPECT_EQ(out.close_date(), "2025-06-30");
  EXPECT_EQ(Close("J81016", "J81002", &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  grpc::ClientContext context;
  v1::ListPracticeRevisionsRequest request;
  request.set_name("practices/J81016");
  request.set_page_size(1);
  v1::ListPracticeRevisionsResponse page1;
  ASSERT_TRUE(env_->stub().ListPracticeRevisions(&context, request, &page1).ok());
  ASSERT_EQ(page1.revisions_size(), 1);
  EXPECT_EQ(page1.revisions(0).kind(), v1::Change::KIND_PRACTICE_CLOSED);
  EXPECT_EQ(page1.revisions(0).practice().status(), v1::Practice::STATUS_CLOSED);
  ASSERT_FALSE(page1.next_page_token().empty());
  std::vector<v1::PracticeRevision> all(page1.revisions().begin(), page1.revisions().end());
  request.set_page_token(page1.next_page_token());
  request.set_page_size(100);
  grpc::ClientContext context2;
  v1::ListPracticeRevisionsResponse rest;
  ASSERT_TRUE(env_->stub().ListPracticeRevisions(&context2, request, &rest).ok());
  all.insert(all.end(), rest.revisions().begin(), rest.revisions().end());
  // created by epraccur, list size, closed (the mapping came before the practice existed).
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].revision(), 1);
  EXPECT_EQ(all[2].kind(), v1::Change::KIND_PRACTICE_CREATED);
  EXPECT_EQ(all[2].practice().status(), v1::Practice::STATUS_ACTIVE);
  EXPECT_EQ(all[1].practice().list_size_date(), "2021-01-01");

  grpc::ClientContext context3;
  request.set_name("practices/J99999");
  request.clear_page_token();
  EXPECT_EQ(env_->stub().ListPracticeRevisions(&context3, request, &rest).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(PracticeApiTest, ListFiltersAndOrders) {
  v1::ListPracticesRequest request;
  request.set_locality("localities/east-dorset");
  request.set_page_size(100);
  v1::ListPracticesResponse response;
  ASSERT_TRUE(List(request, &response).ok());
  EXPECT_EQ(response.total_size(), 12);
  EXPECT_EQ(response.practices_size(), 12);
  for (const auto& p : response.practices()) EXPECT_EQ(p.locality(), "localities/east-dorset");

  request.Clear();
  request.set_cluster("clusters/bournemouth");
  request.add_statuses(v1::Practice::STATUS_ACTIVE);
  request.set_prescribing_setting(4);
  request.set_page_size(1000);
  ASSERT_TRUE(List(request, &response).ok());
  EXPECT_GT(response.total_size(), 0);
  for (const auto& p : response.practices()) {
    EXPECT_EQ(p.status(), v1::Practice::STATUS_ACTIVE);
    EXPECT_EQ(p.prescribing_setting(), 4);
  }

  request.Clear();
  request.set_name_contains("surgery");  // case-insensitive
  request.set_postcode_prefix("bh2");
  ASSERT_TRUE(List(request, &response).ok());
  EXPECT_GT(response.total_size(), 0);
  for (const auto& p : response.practices()) {
    EXPECT_THAT(p.display_name(), HasSubstr("SURGERY"));
    EXPECT_EQ(p.postcode().substr(0, 3), "BH2");
  }

  request.Clear();
  request.set_commissioner("11J");
  request.set_order_by("list_size desc");
  request.set_page_size(3);
  ASSERT_TRUE(List(request, &response).ok());
  ASSERT_EQ(response.practices_size(), 3);
  EXPECT_GE(response.practices(0).list_size(), response.practices(1).list_size());
  EXPECT_GE(response.practices(1).list_size(), response.practices(2).list_size());

  request.set_order_by("display_name");
  request.set_page_size(1000);
  ASSERT_TRUE(List(request, &response).ok());
  for (int i = 1; i < response.practices_size(); ++i) {
    EXPECT_LE(response.practices(i - 1).display_name(), response.practices(i).display_name());
  }

  // Errors.
  const std::vector<std::pair<std::function<void(v1::ListPracticesRequest&)>, std::string>> bad = {
      {[](auto& r) { r.set_order_by("telephone"); }, "order_by"},
      {[](auto& r) { r.set_order_by("ods_code sideways"); }, "order_by"},
      {[](auto& r) { r.set_page_size(-1); }, "page_size"},
      {[](auto& r) { r.set_locality("east-dorset"); }, "locality"},
      {[](auto& r) { r.add_statuses(v1::Practice::STATUS_UNSPECIFIED); }, "statuses"},
      {[](auto& r) { r.set_postcode_prefix("BH-22"); }, "postcode_prefix"},
      {[](auto& r) { r.set_name_contains(std::string(101, 'x')); }, "name_contains"},
      {[](auto& r) { r.set_page_token("forged"); }, "page_token"},
  };
  for (const auto& [edit, field] : bad) {
    v1::ListPracticesRequest r;
    edit(r);
    grpc::Status status = List(r, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(BadFields(status), ::testing::Contains(field));
  }
  request.Clear();
  request.set_locality("localities/atlantis");
  EXPECT_EQ(List(request, &response).error_code(), grpc::StatusCode::NOT_FOUND);

  // A token is bound to its query.
  request.Clear();
  request.set_page_size(2);
  ASSERT_TRUE(List(request, &response).ok());
  ASSERT_FALSE(response.next_page_token().empty());
  request.set_page_token(response.next_page_token());
  request.set_locality("localities/purbeck");
  EXPECT_EQ(List(request, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PracticeApiTest, PaginationIsStableWhileAnotherClientWrites) {
  // Every practice present before paging starts, and not moved by the writer, is returned
  // exactly once, whatever the writer inserts or updates meanwhile.
  v1::ListPracticesRequest request;
  request.set_commissioner("11J");
  request.set_order_by("display_name");
  request.set_page_size(7);
  std::set<std::string> before;
  {
    v1::ListPracticesRequest all = request;
    all.set_page_size(1000);
    v1::ListPracticesResponse response;
    ASSERT_TRUE(List(all, &response).ok());
    for (const auto& p : response.practices()) before.insert(p.ods_code());
  }
  ASSERT_EQ(before.size(), 139u);

  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 400; ++i) {
      // New practices whose names sort all over the range, and updates of existing ones.
      v1::Practice p =
          NewPractice(absl::StrFormat("Y%05d", 80000 + i),
                      std::string(1, static_cast<char>('A' + i % 26)) + " NEW PRACTICE");
      if (env_->Create(p).ok()) ++writes;
      v1::Practice patch;
      patch.set_name("practices/J81002");
      patch.set_telephone(absl::StrFormat("01202 %06d", i));
      v1::Practice out;
      if (Update(patch, {"telephone"}, &out).ok()) ++writes;
    }
  });
  std::multiset<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListPracticesRequest page = request;
    page.set_page_token(token);
    v1::ListPracticesResponse response;
    ASSERT_TRUE(List(page, &response).ok());
    for (const auto& p : response.practices()) seen.insert(p.ods_code());
    token = response.next_page_token();
    ++pages;
    absl::SleepFor(absl::Milliseconds(5));
  } while (!token.empty());
  stop = true;
  writer.join();
  EXPECT_GT(writes.load(), 0);
  EXPECT_GE(pages, 20);
  for (const std::string& code : before) EXPECT_EQ(seen.count(code), 1u) << code;
  for (const std::string& code : seen) EXPECT_EQ(seen.count(code), 1u) << code;
}

TEST_F(PracticeApiTest, LocalitiesAndClustersCarryDerivedCounts) {
  grpc::ClientContext c1;
  v1::ListLocalitiesResponse localities;
  ASSERT_TRUE(env_->stub().ListLocalities(&c1, v1::ListLocalitiesRequest(), &localities).ok());
  ASSERT_EQ(localities.localities_size(), 13);
  grpc::ClientContext c2;
  v1::ListClustersResponse clusters;
  ASSERT_TRUE(env_->stub().ListClusters(&c2, v1::ListClustersRequest(), &clusters).ok());
  ASSERT_EQ(clusters.clusters_size(), 3);
  int localities_in_clusters = 0;
  for (const auto& c : clusters.clusters()) {
    int active = 0;
    int64_t patients = 0;
    for (const auto& l : localities.localities()) {
      if (l.cluster() != c.name()) continue;
      active += l.practice_count();
      patients += l.registered_patients();
      ++localities_in_clusters;
    }
    EXPECT_EQ(c.practice_count(), active) << c.name();
    EXPECT_EQ(c.registered_patients(), patients) << c.name();
  }
  EXPECT_EQ(localities_in_clusters, 13);

  grpc::ClientContext c3;
  v1::GetLocalityRequest get;
  get.set_name("localities/east-dorset");
  v1::Locality east;
  ASSERT_TRUE(env_->stub().GetLocality(&c3, get, &east).ok());
  EXPECT_EQ(east.display_name(), "East Dorset");
  EXPECT_EQ(east.cluster(), "clusters/dorset");
  EXPECT_EQ(east.total_practice_count(), 12);

  // Closing a practice moves the derived counts at once.
  v1::Practice out;
  ASSERT_TRUE(Close("J81002", "", &out).ok());
  grpc::ClientContext c4;
  v1::Locality after;
  ASSERT_TRUE(env_->stub().GetLocality(&c4, get, &after).ok());
  EXPECT_EQ(after.practice_count(), east.practice_count() - 1);
  EXPECT_EQ(after.total_practice_count(), 12);

  grpc::ClientContext c5;
  get.set_name("localities/atlantis");
  EXPECT_EQ(env_->stub().GetLocality(&c5, get, &after).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c6;
  get.set_name("Atlantis");
  EXPECT_EQ(env_->stub().GetLocality(&c6, get, &after).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext c7;
  v1::GetClusterRequest get_cluster;
  get_cluster.set_name("clusters/poole");
  v1::Cluster poole;
  ASSERT_TRUE(env_->stub().GetCluster(&c7, get_cluster, &poole).ok());
  EXPECT_EQ(poole.localities_size(), 4);
  grpc::ClientContext c8;
  get_cluster.set_name("clusters/none");
  EXPECT_EQ(env_->stub().GetCluster(&c8, get_cluster, &poole).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c9;
  v1::ListLocalitiesRequest by_cluster;
  by_cluster.set_cluster("clusters/poole");
  by_cluster.set_page_size(3);
  v1::ListLocalitiesResponse page;
  ASSERT_TRUE(env_->stub().ListLocalities(&c9, by_cluster, &page).ok());
  EXPECT_EQ(page.localities_size(), 3);
  ASSERT_FALSE(page.next_page_token().empty());
  grpc::ClientContext c10;
  by_cluster.set_page_token(page.next_page_token());
  ASSERT_TRUE(env_->stub().ListLocalities(&c10, by_cluster, &page).ok());
  EXPECT_EQ(page.localities_size(), 1);
  EXPECT_TRUE(page.next_page_token().empty());
}

TEST_F(PracticeApiTest, SummaryOfUnknownGoverningBodyIsNotFound) {
  grpc::ClientContext c1;
  v1::GetAreaSummaryRequest request;
  request.set_name("governingBodies/99Z");
  v1::AreaSummary summary;
  EXPECT_EQ(env_->stub().GetAreaSummary(&c1, request, &summary).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c2;
  request.set_name("11J");
  EXPECT_EQ(env_->stub().GetAreaSummary(&c2, request, &summary).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext c3;
  request.set_name("governingBodies/11J");
  ASSERT_TRUE(env_->stub().GetAreaSummary(&c3, request, &summary).ok());
  EXPECT_EQ(summary.governing_body().ods_code(), "11J");
  EXPECT_GT(summary.as_of_sequence(), 0);
}

}  // namespace
}  // namespace dorset::registry::testing
