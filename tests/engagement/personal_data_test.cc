// Personal data: redaction for callers without the permission (real bearer tokens), erasure that
// overwrites and keeps aggregates, the shared cache (real Redis) forgetting erased people, and
// logs that never carry the test's names, email, phone, address or private text.
#include <spdlog/sinks/ostream_sink.h>

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "runtime/logging/log.h"
#include "runtime/testing/redis_server.h"
#include "tests/engagement/engagement_test_util.h"

namespace dorset::engagement::testing {
namespace {

using ::grpc::StatusCode;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kEditor[] = "tok-editor";
constexpr char kReader[] = "tok-reader";
constexpr char kPersonal[] = "tok-personal";
constexpr char kAdmin[] = "tok-admin";

// Values unique to this test, searched for in logs, errors and the store files.
constexpr char kName[] = "Zebedee Quixotic-Testname";
constexpr char kEmail[] = "zq.unique.7731@example.org";
constexpr char kPhone[] = "+44 7700 900731";
constexpr char kAddress[] = "17 Uniquely Named Lane, Wimborne";
constexpr char kPrivateText[] = "my-private-words-9931 about my own health";
constexpr char kPublicText[] = "public-words-5521: more buses please";

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PersonalDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    runtime::log::InitWithSink("engagement", log_sink_);
    auto redis = dorset::testing::RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    runtime::ServerConfig config = dorset::testing::TestServerConfig("engagement", dir_.path());
    config.auth = runtime::AuthMode::kTokens;
    config.tokens_file = tokens_.File("tokens");
    config.redis = redis_->address();
    dorset::testing::WriteTokensFile(config.tokens_file,
                                     {{kEditor, "editor", "engagement-editor"},
                                      {kReader, "reader", "reader"},
                                      {kPersonal, "dpo", "personal-data-reader"},
                                      {kAdmin, "admin", "admin"}});
    server_.Start(config);
  }
  void TearDown() override {
    if (server_.host) server_.host->Shutdown();
    server_.host.reset();
    (void)runtime::log::Init("engagement", "info");  // stop writing into log_
  }
  v1::EngagementService::Stub& stub() { return *server_.stub; }

  v1::Stakeholder GetStakeholder(const std::string& name, const std::string& token) {
    v1::GetStakeholderRequest request;
    request.set_name(name);
    v1::Stakeholder out;
    grpc::Status status = stub().GetStakeholder(Ctx(token).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }
  v1::Response GetResponse(const std::string& name, const std::string& token) {
    v1::GetResponseRequest request;
    request.set_name(name);
    v1::Response out;
    grpc::Status status = stub().GetResponse(Ctx(token).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }
  v1::ActivityAggregates Aggregates(const std::string& token) {
    v1::GetActivityAggregatesRequest request;
    request.set_name("activities/pd/aggregates");
    v1::ActivityAggregates out;
    EXPECT_TRUE(stub().GetActivityAggregates(Ctx(token).get(), request, &out).ok());
    return out;
  }

  // A stakeholder with every kind of personal data, and two responses from them.
  void CreatePersonAndResponses() {
    v1::CreateStakeholderRequest create;
    v1::Stakeholder& s = *create.mutable_stakeholder();
    s.set_kind(v1::STAKEHOLDER_KIND_CARER);
    s.set_display_name(kName);
    s.mutable_contact()->set_email(kEmail);
    s.mutable_contact()->set_phone(kPhone);
    s.mutable_contact()->set_postal_address(kAddress);
    s.mutable_contact_consent()->set_granted(true);
    v1::Stakeholder created;
    ASSERT_TRUE(stub().CreateStakeholder(Ctx(kEditor).get(), create, &created).ok());
    person_ = created.name();
    person_id_ = person_.substr(person_.find('/') + 1);
    // The editor may write but not read personal data: even its own create comes back redacted.
    EXPECT_TRUE(created.personal_data_redacted());
    EXPECT_EQ(created.display_name(), "");
    EXPECT_EQ(created.contact().email(), "");
    EXPECT_TRUE(created.contact_consent().granted());
    EXPECT_TRUE(created.contact_consent().has_record_time());

    MakeActivity(stub(), "pd", kEditor);
    const std::string theme = MakeTheme(stub(), "pd", "buses", kEditor).name();
    ASSERT_TRUE(Open(stub(), "pd", kEditor).ok());
    v1::Response r = ResponseOf(v1::CHANNEL_LETTER, v1::SENTIMENT_OPPOSED, "localities/east",
                                {theme}, kPrivateText);
    r.set_stakeholder(person_);
    ASSERT_TRUE(Respond(stub(), "pd", r, &private_response_, kEditor).ok());
    r = ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_SUPPORTIVE, "localities/east", {theme},
                   kPublicText);
    r.set_stakeholder(person_);
    r.set_publish_consent(true);
    ASSERT_TRUE(Respond(stub(), "pd", r, &public_response_, kEditor).ok());
    // And one anonymous response.
    r = ResponseOf(v1::CHANNEL_PHONE, v1::SENTIMENT_NEUTRAL, "", {}, "anonymous view");
    v1::Response anonymous;
    ASSERT_TRUE(Respond(stub(), "pd", r, &anonymous, kEditor).ok());
  }

  void ExpectNoPersonalDataIn(const std::string& text, const std::string& where) {
    for (const char* value : {kName, kEmail, kPhone, kAddress, kPrivateText}) {
      EXPECT_THAT(text, Not(HasSubstr(value))) << where << " holds " << value;
    }
  }

  std::ostringstream log_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> log_sink_;
  std::unique_ptr<dorset::testing::RedisServer> redis_;
  dorset::testing::TempDir dir_, tokens_;
  EngagementServer server_;
  v1::Response private_response_, public_response_;
  std::string person_, person_id_;  // the stakeholder's name and id
};

TEST_F(PersonalDataTest, ContactDetailsAndPrivateTextAreRedactedWithoutThePermission) {
  CreatePersonAndResponses();
  v1::Stakeholder as_reader = GetStakeholder(person_, kReader);
  EXPECT_TRUE(as_reader.personal_data_redacted());
  EXPECT_EQ(as_reader.display_name(), "");
  EXPECT_FALSE(as_reader.has_contact());
  EXPECT_EQ(as_reader.kind(), v1::STAKEHOLDER_KIND_CARER);  // not personal: still shown

  v1::Stakeholder as_dpo = GetStakeholder(person_, kPersonal);
  EXPECT_FALSE(as_dpo.personal_data_redacted());
  EXPECT_EQ(as_dpo.display_name(), kName);
  EXPECT_EQ(as_dpo.contact().email(), kEmail);
  EXPECT_EQ(as_dpo.contact().phone(), kPhone);
  EXPECT_EQ(as_dpo.contact().postal_address(), kAddress);

  v1::ListStakeholdersResponse listed;
  ASSERT_TRUE(
      stub().ListStakeholders(Ctx(kReader).get(), v1::ListStakeholdersRequest(), &listed).ok());
  ASSERT_EQ(listed.stakeholders_size(), 1);
  EXPECT_EQ(listed.stakeholders(0).contact().email(), "");

  // Responses: the link to the person and unconsented text are withheld; consented text is not.
  v1::Response private_as_reader = GetResponse(private_response_.name(), kReader);
  EXPECT_TRUE(private_as_reader.personal_data_redacted());
  EXPECT_EQ(private_as_reader.text(), "");
  EXPECT_EQ(private_as_reader.stakeholder(), "");
  EXPECT_EQ(private_as_reader.channel(), v1::CHANNEL_LETTER);
  v1::Response public_as_reader = GetResponse(public_response_.name(), kReader);
  EXPECT_EQ(public_as_reader.text(), kPublicText);
  EXPECT_EQ(public_as_reader.stakeholder(), "");
  v1::Response private_as_dpo = GetResponse(private_response_.name(), kPersonal);
  EXPECT_EQ(private_as_dpo.text(), kPrivateText);
  EXPECT_EQ(private_as_dpo.stakeholder(), person_);

  // The export redacts the same way.
  v1::ExportResponsesRequest export_request;
  export_request.set_parent("activities/pd");
  auto context = Ctx(kReader);
  auto reader = stub().ExportResponses(context.get(), export_request);
  v1::ExportResponsesChunk chunk;
  int exported = 0;
  while (reader->Read(&chunk)) {
    for (const auto& r : chunk.responses()) {
      ++exported;
      EXPECT_EQ(r.stakeholder(), "");
      EXPECT_NE(r.text(), kPrivateText);
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(exported, 3);

  // Without a token: refused; with a reader token: no writes.
  v1::Stakeholder out;
  v1::GetStakeholderRequest get;
  get.set_name(person_);
  EXPECT_EQ(stub().GetStakeholder(Ctx().get(), get, &out).error_code(),
            StatusCode::UNAUTHENTICATED);
  v1::CreateStakeholderRequest create;
  create.mutable_stakeholder()->set_kind(v1::STAKEHOLDER_KIND_PUBLIC);
  create.mutable_stakeholder()->set_display_name("x");
  EXPECT_EQ(stub().CreateStakeholder(Ctx(kReader).get(), create, &out).error_code(),
            StatusCode::PERMISSION_DENIED);
}

TEST_F(PersonalDataTest, ErasureOverwritesPersonalDataEverywhereAndKeepsAggregates) {
  CreatePersonAndResponses();
  GetStakeholder(person_, kPersonal);
  // Policy (docs/cache-keys.md): personal data never goes into the shared cache.
  EXPECT_EQ(redis_->Cli("KEYS dorset:v1:engagement:*"), "\n");
  const std::string before = Aggregates(kReader).SerializeAsString();
  // Who submitted the response (the principal on the theme given with it) goes with the link.
  ASSERT_EQ(GetResponse(private_response_.name(), kPersonal).theme_assignments_size(), 1);
  EXPECT_EQ(GetResponse(private_response_.name(), kPersonal).theme_assignments(0).assigned_by(),
            "editor");

  v1::EraseStakeholderRequest erase;
  erase.set_name(person_);
  v1::Stakeholder erased;
  EXPECT_EQ(stub().EraseStakeholder(Ctx(kReader).get(), erase, &erased).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub().EraseStakeholder(Ctx(kEditor).get(), erase, &erased).error_code(),
            StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub().EraseStakeholder(Ctx(kAdmin).get(), erase, &erased).ok());
  EXPECT_TRUE(erased.erased());
  EXPECT_TRUE(erased.has_erase_time());

  // Even a caller allowed to read personal data finds nothing left.
  v1::Stakeholder after = GetStakeholder(person_, kPersonal);
  EXPECT_EQ(after.display_name(), "");
  EXPECT_EQ(after.contact().email(), "");
  EXPECT_EQ(after.contact().phone(), "");
  EXPECT_EQ(after.contact().postal_address(), "");
  EXPECT_FALSE(after.contact_consent().granted());
  v1::Response anonymised = GetResponse(private_response_.name(), kPersonal);
  EXPECT_TRUE(anonymised.anonymised());
  EXPECT_EQ(anonymised.stakeholder(), "");
  EXPECT_EQ(anonymised.text(), "");
  EXPECT_EQ(anonymised.channel(), v1::CHANNEL_LETTER);
  EXPECT_EQ(anonymised.sentiment(), v1::SENTIMENT_OPPOSED);
  ASSERT_EQ(anonymised.theme_assignments_size(), 1);
  EXPECT_EQ(anonymised.theme_assignments(0).method(), v1::THEME_ASSIGNMENT_METHOD_ON_CREATION);
  EXPECT_EQ(anonymised.theme_assignments(0).assigned_by(), "");

  // Aggregates are exactly as before.
  EXPECT_EQ(Aggregates(kReader).SerializeAsString(), before);
  // Nothing of theirs is in Redis, and the store files no longer hold the values either.
  ExpectNoPersonalDataIn(
      redis_->Cli("--no-raw DUMP dorset:v1:engagement:private:stakeholder:" + person_id_),
      "the cache");
  EXPECT_EQ(redis_->Cli("KEYS dorset:v1:engagement:*"), "\n");
  const std::string db = dir_.File("engagement.db");
  ExpectNoPersonalDataIn(ReadFileOrEmpty(db) + ReadFileOrEmpty(db + "-wal"), "the store");

  // Erasing again is harmless; responses from an erased stakeholder are refused.
  ASSERT_TRUE(stub().EraseStakeholder(Ctx(kAdmin).get(), erase, &erased).ok());
  v1::Response r = ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}, "again");
  r.set_stakeholder(person_);
  v1::Response out;
  EXPECT_EQ(Respond(stub(), "pd", r, &out, kEditor).error_code(), StatusCode::FAILED_PRECONDITION);
}

// Issue 10 item 5: a read fills the cache, Redis hangs (SIGSTOP) until the breaker opens, the
// erasure is acknowledged, Redis comes back (SIGCONT). No read may then return the erased
// person's data from any cache.
TEST_F(PersonalDataTest, ErasureWhileRedisIsHungIsNeverUndoneByACache) {
  CreatePersonAndResponses();
  EXPECT_EQ(GetStakeholder(person_, kPersonal).display_name(), kName);
  EXPECT_EQ(GetStakeholder(person_, kPersonal).contact().email(), kEmail);

  redis_->Pause();
  // Reads while Redis hangs: each answers (fail-open) and the breaker opens.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(GetStakeholder(person_, kPersonal).display_name(), kName);
  v1::EraseStakeholderRequest erase;
  erase.set_name(person_);
  v1::Stakeholder erased;
  ASSERT_TRUE(stub().EraseStakeholder(Ctx(kAdmin).get(), erase, &erased).ok());
  EXPECT_TRUE(erased.erased());
  redis_->Resume();

  // Reads after Redis is back, across the breaker's reopening (2 s) and well past it.
  const absl::Time until = absl::Now() + absl::Seconds(4);
  int reads = 0;
  do {
    v1::Stakeholder after = GetStakeholder(person_, kPersonal);
    ASSERT_TRUE(after.erased()) << "read " << reads << " served a pre-erasure copy";
    ASSERT_EQ(after.display_name(), "");
    ASSERT_EQ(after.contact().email(), "");
    ++reads;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < until);
  EXPECT_GT(reads, 10);
  ExpectNoPersonalDataIn(redis_->Cli("--scan"), "the cache's keys");
  EXPECT_EQ(redis_->Cli("KEYS dorset:v1:engagement:*"), "\n");
}

// A request_id is its caller's (runtime/storage/idempotency.h): another principal sending the
// same id and request is refused with REQUEST_ID_REUSED, never answered with the first caller's
// resource (before the lane the id was keyed by method alone and answered anyone).
TEST_F(PersonalDataTest, AnotherCallersRequestIdIsRefusedNotAnswered) {
  v1::CreateActivityRequest create;
  create.mutable_activity()->set_kind(v1::ACTIVITY_KIND_SURVEY);
  create.mutable_activity()->set_title("Shared id");
  create.set_request_id("req-shared-1");
  v1::Activity first, again;
  ASSERT_TRUE(stub().CreateActivity(Ctx(kEditor).get(), create, &first).ok());
  ASSERT_TRUE(stub().CreateActivity(Ctx(kEditor).get(), create, &again).ok());
  EXPECT_EQ(again.name(), first.name());
  v1::Activity other;
  grpc::Status refused = stub().CreateActivity(Ctx(kAdmin).get(), create, &other);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ALREADY_EXISTS) << refused.error_message();
  EXPECT_TRUE(other.name().empty());

  const std::string activity = first.name().substr(first.name().find('/') + 1);
  ASSERT_TRUE(Open(stub(), activity, kEditor).ok());
  const v1::Response view =
      ResponseOf(v1::CHANNEL_ONLINE, v1::SENTIMENT_NEUTRAL, "", {}, "a shared view");
  v1::Response mine, theirs;
  ASSERT_TRUE(Respond(stub(), activity, view, &mine, kEditor, "req-shared-2").ok());
  refused = Respond(stub(), activity, view, &theirs, kAdmin, "req-shared-2");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ALREADY_EXISTS) << refused.error_message();
  EXPECT_TRUE(theirs.name().empty());
  v1::GetActivityAggregatesRequest request;
  request.set_name(first.name() + "/aggregates");
  v1::ActivityAggregates aggregates;
  ASSERT_TRUE(stub().GetActivityAggregates(Ctx(kAdmin).get(), request, &aggregates).ok());
  EXPECT_EQ(aggregates.total_responses(), 1);
}

TEST_F(PersonalDataTest, LogsAndErrorsNeverCarryPersonalData) {
  CreatePersonAndResponses();
  GetStakeholder(person_, kPersonal);
  // Refused updates: the error names the field, not the value.
  v1::UpdateStakeholderRequest update;
  update.mutable_stakeholder()->set_name(person_);
  update.mutable_stakeholder()->mutable_contact()->set_email(std::string("bad ") + kEmail);
  update.mutable_update_mask()->add_paths("contact.email");
  v1::Stakeholder out;
  grpc::Status refused = stub().UpdateStakeholder(Ctx(kEditor).get(), update, &out);
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
  ExpectNoPersonalDataIn(refused.error_message() + refused.error_details(), "the error");
  // Ids are the server's: a client-chosen one could carry a name into logs.
  v1::CreateStakeholderRequest duplicate;
  duplicate.set_stakeholder_id("zebedee");
  duplicate.mutable_stakeholder()->set_kind(v1::STAKEHOLDER_KIND_CARER);
  duplicate.mutable_stakeholder()->set_display_name(kName);
  grpc::Status exists = stub().CreateStakeholder(Ctx(kEditor).get(), duplicate, &out);
  EXPECT_EQ(exists.error_code(), StatusCode::INVALID_ARGUMENT);
  ExpectNoPersonalDataIn(exists.error_message() + exists.error_details(), "the error");

  v1::EraseStakeholderRequest erase;
  erase.set_name(person_);
  ASSERT_TRUE(stub().EraseStakeholder(Ctx(kAdmin).get(), erase, &out).ok());
  server_.host->Shutdown();  // flushes access-log lines of every call
  log_sink_->flush();
  const std::string logged = log_.str();
  EXPECT_THAT(logged, HasSubstr("stakeholder created"));  // the capture works
  EXPECT_THAT(logged, HasSubstr("stakeholder erased"));
  ExpectNoPersonalDataIn(logged, "the log");
}

}  // namespace
}  // namespace dorset::engagement::testing
