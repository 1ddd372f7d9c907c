#include "runtime/config/config.h"

#include <map>

#include "gtest/gtest.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::runtime {
namespace {

const ServerDefaults kDefaults{"registry", "127.0.0.1:50051", "127.0.0.1:8081"};

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

absl::StatusOr<ServerConfig> Load(std::vector<const char*> flags,
                                  std::map<std::string, std::string> env = {}) {
  flags.insert(flags.begin(), "dorset-registry");
  return LoadServerConfig(kDefaults, static_cast<int>(flags.size()), flags.data(), FakeEnv(env));
}

TEST(ConfigTest, FlagsOverrideEnvironmentOverrideDefaults) {
  auto config = Load({"--plaintext", "--auth=none", "--grpc_listen=0.0.0.0:6000"},
                     {{"DORSET_GRPC_LISTEN", "0.0.0.0:7000"},
                      {"DORSET_OPS_LISTEN", "0.0.0.0:7001"},
                      {"DORSET_LOG_LEVEL", "debug"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->grpc_listen, "0.0.0.0:6000");
  EXPECT_EQ(config->ops_listen, "0.0.0.0:7001");
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->data_dir, "var/registry");
  EXPECT_EQ(config->auth, AuthMode::kNone);
}

TEST(ConfigTest, RefusesUnknownFlagsAndBadValuesNamingTheSetting) {
  auto unknown = Load({"--plaintext", "--auth=none", "--grpc_port=1"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("grpc_port"), std::string::npos);

  auto bad_port = Load({"--plaintext", "--auth=none", "--ops_listen=localhost:99999"});
  EXPECT_NE(bad_port.status().message().find("ops_listen"), std::string::npos);

  auto bad_int = Load({"--plaintext", "--auth=none", "--drain_seconds=soon"});
  EXPECT_NE(bad_int.status().message().find("drain_seconds"), std::string::npos);

  auto bad_level = Load({"--plaintext", "--auth=none"}, {{"DORSET_LOG_LEVEL", "loud"}});
  EXPECT_NE(bad_level.status().message().find("log_level"), std::string::npos);
}

TEST(ConfigTest, PrincipalRateLimitsParseAndBadOnesAreRefusedNamingTheSetting) {
  auto defaults = ParsePrincipalRateLimits(ServerConfig().principal_rate_limits);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  ASSERT_EQ(defaults->count("local-finance"), 1u);
  ASSERT_EQ(defaults->count("local-engagement"), 1u);
  // Sized above finance's per-head traffic with Redis down (150/s x 2 registry calls).
  EXPECT_GE(defaults->at("local-finance").per_second, 300);
  EXPECT_GE(defaults->at("local-engagement").per_second, 300);

  auto parsed = ParsePrincipalRateLimits(" a=10/25 , b=7 ,c=0");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->at("a").per_second, 10);
  EXPECT_EQ(parsed->at("a").burst, 25);
  EXPECT_EQ(parsed->at("b").burst, 14);  // twice the rate by default
  EXPECT_EQ(parsed->at("c").per_second, 0);
  EXPECT_TRUE(ParsePrincipalRateLimits("")->empty());

  for (const char* bad : {"a", "=5", "a=x", "a=-1", "a=5/0", "a=5/6/7", "a=1,a=2"}) {
    auto refused = ParsePrincipalRateLimits(bad);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(refused.status().message().find("principal_rate_limits"), std::string::npos)
        << bad << ": " << refused.status();
  }
  auto config = Load({"--plaintext", "--auth=none", "--principal_rate_limits=svc=5/x"});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("principal_rate_limits"), std::string::npos);
  auto from_env =
      Load({"--plaintext", "--auth=none"}, {{"DORSET_PRINCIPAL_RATE_LIMITS", "svc-x=9/9"}});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->principal_rate_limits, "svc-x=9/9");
}

TEST(ConfigTest, PlaintextMustBeChosenExplicitly) {
  auto config = Load({"--auth=none"});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("plaintext"), std::string::npos);
}

TEST(ConfigTest, TlsFilesMustExistAndComeInPairs) {
  dorset::testing::TempDir dir;
  auto half = Load({"--auth=none", ("--tls_cert=" + dir.File("cert.pem")).c_str()});
  EXPECT_FALSE(half.ok());
  std::string cert = "--tls_cert=" + dir.File("cert.pem");
  std::string key = "--tls_key=" + dir.File("key.pem");
  auto missing = Load({"--auth=none", cert.c_str(), key.c_str()});
  EXPECT_NE(missing.status().message().find("file not found"), std::string::npos);
  dorset::testing::WriteFile(dir.File("cert.pem"), "x");
  dorset::testing::WriteFile(dir.File("key.pem"), "x");
  EXPECT_TRUE(Load({"--auth=none", cert.c_str(), key.c_str()}).ok());
}

TEST(ConfigTest, TokenAuthNeedsATokensFile) {
  auto config = Load({"--plaintext"});
  EXPECT_NE(config.status().message().find("tokens_file"), std::string::npos);
}

TEST(ConfigTest, ARedisUserNeedsAnExistingPasswordFile) {
  dorset::testing::TempDir dir;
  auto no_file = Load({"--plaintext", "--auth=none", "--redis_user=dorset-finance"});
  ASSERT_FALSE(no_file.ok());
  EXPECT_NE(no_file.status().message().find("redis_password_file"), std::string_view::npos);
  const std::string missing = "--redis_password_file=" + dir.File("nope");
  auto absent = Load({"--plaintext", "--auth=none", missing.c_str()});
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.status().message().find("file not found"), std::string_view::npos);
  FILE* f = fopen(dir.File("password").c_str(), "w");
  fputs("secret\n", f);
  fclose(f);
  auto config =
      Load({"--plaintext", "--auth=none"}, {{"DORSET_REDIS_USER", "dorset-finance"},
                                            {"DORSET_REDIS_PASSWORD_FILE", dir.File("password")}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->redis_user, "dorset-finance");
  EXPECT_EQ(config->redis_password_file, dir.File("password"));
}

TEST(ConfigTest, ThePageTokenKeyFileComesFromFlagOrEnvironmentAndMustExist) {
  dorset::testing::TempDir dir;
  const std::string missing = "--page_token_key_file=" + dir.File("nope");
  auto absent = Load({"--plaintext", "--auth=none", missing.c_str()});
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.status().message().find("page_token_key_file"), std::string_view::npos);
  FILE* f = fopen(dir.File("key").c_str(), "w");
  fputs("0123456789abcdef0123456789abcdef\n", f);
  fclose(f);
  auto config =
      Load({"--plaintext", "--auth=none"}, {{"DORSET_PAGE_TOKEN_KEY_FILE", dir.File("key")}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->page_token_key_file, dir.File("key"));
  auto unset = Load({"--plaintext", "--auth=none"});
  ASSERT_TRUE(unset.ok());
  EXPECT_EQ(unset->page_token_key_file, "");  // the default: the per-data-dir key
}

// Engagement's retention period and timer interval come from the one config like every setting.
TEST(ConfigTest, EngagementRetentionFromFlagOrEnvironmentAndBadValuesNamed) {
  auto unset = Load({"--plaintext", "--auth=none"});
  ASSERT_TRUE(unset.ok()) << unset.status();
  EXPECT_EQ(unset->engagement_retention_days, 0);  // off
  EXPECT_EQ(unset->engagement_retention_interval_seconds, 3600);
  auto from_env = Load({"--plaintext", "--auth=none", "--engagement_retention_interval_seconds=60"},
                       {{"DORSET_ENGAGEMENT_RETENTION_DAYS", "730"}});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->engagement_retention_days, 730);
  EXPECT_EQ(from_env->engagement_retention_interval_seconds, 60);
  auto bad = Load({"--plaintext", "--auth=none"}, {{"DORSET_ENGAGEMENT_RETENTION_DAYS", "-1"}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("engagement_retention_days"), std::string::npos);
  auto zero = Load({"--plaintext", "--auth=none", "--engagement_retention_interval_seconds=0"});
  EXPECT_NE(zero.status().message().find("engagement_retention_interval_seconds"),
            std::string::npos);
}

TEST(ConfigTest, HelpIsReportedAsCancelledWithUsage) {
  auto config = Load({"--help"});
  EXPECT_EQ(config.status().code(), absl::StatusCode::kCancelled);
  EXPECT_NE(config.status().message().find("DORSET_GRPC_LISTEN"), std::string::npos);
}

TEST(ConfigTest, SplitHostPortHandlesIpv6) {
  auto hp = SplitHostPort("[::1]:50051");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->first, "::1");
  EXPECT_EQ(hp->second, 50051);
  EXPECT_FALSE(SplitHostPort("no-port").ok());
}

}  // namespace
}  // namespace dorset::runtime
