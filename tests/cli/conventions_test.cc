// The real dorsetctl binary against real in-process hosts (issue 11 items 12 and 13):
//   - enum values in any case, with or without their type's prefix, and a wrong one named
//     with the valid values; canonical (lowerCamelCase) JSON from every command group;
//   - the client's own settings: flag > DORSETCTL_* variable > config file > default, the
//     servers' DORSET_*_TARGET variables ignored, XDG_CONFIG_HOME respected.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/server/service_host.h"
#include "runtime/testing/temp_dir.h"
#include "runtime/testing/test_host.h"
#include "services/engagement/engagement_module.h"
#include "services/finance/finance_module.h"
#include "services/registry/registry_module.h"

namespace dorset::cli {
namespace {

struct Result {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

// Every variable dorsetctl reads, cleared so the caller's environment cannot leak in; `env`
// then sets the ones a case wants ("NAME=value ...").
Result RunCtl(const std::string& env, const std::string& args) {
  const std::string command = absl::StrCat(
      "env -u DORSETCTL_REGISTRY -u DORSETCTL_FINANCE -u DORSETCTL_ENGAGEMENT "
      "-u DORSETCTL_REGISTRY_OPS -u DORSETCTL_FINANCE_OPS -u DORSETCTL_ENGAGEMENT_OPS "
      "-u DORSETCTL_TOKEN -u DORSETCTL_TLS_CA -u DORSETCTL_CLIENT_CERT -u DORSETCTL_CLIENT_KEY "
      "-u DORSETCTL_CONFIG -u DORSET_TOKEN -u DORSET_TLS_CA -u DORSET_CLIENT_CERT "
      "-u DORSET_CLIENT_KEY -u DORSET_REGISTRY_TARGET -u DORSET_FINANCE_TARGET "
      "-u DORSET_ENGAGEMENT_TARGET -u XDG_CONFIG_HOME ",
      env, " ", DORSET_CTL_BINARY, " ", args, " 2>&1");
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A loopback port nothing listens on (bound, then closed: connections are refused).
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
}

template <typename Module>
std::unique_ptr<runtime::ServiceHost> StartHost(const std::string& service,
                                                const std::string& dir) {
  auto host = runtime::ServiceHost::Start(dorset::testing::TestServerConfig(service, dir),
                                          std::make_unique<Module>());
  EXPECT_TRUE(host.ok()) << host.status();
  return host.ok() ? *std::move(host) : nullptr;
}

// ---- item 12: one convention for enum values and JSON ----

class CliConventionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engagement_ = StartHost<engagement::EngagementModule>("engagement", engagement_dir_.path());
    registry_ = StartHost<registry::RegistryModule>("registry", registry_dir_.path());
    finance_ = StartHost<finance::FinanceModule>("finance", finance_dir_.path());
    ASSERT_TRUE(engagement_ && registry_ && finance_);
  }
  std::string Targets() const {
    return absl::StrCat("DORSETCTL_ENGAGEMENT=127.0.0.1:", engagement_->grpc_port(),
                        " DORSETCTL_REGISTRY=127.0.0.1:", registry_->grpc_port(),
                        " DORSETCTL_FINANCE=127.0.0.1:", finance_->grpc_port());
  }
  Result Ctl(const std::string& args) { return RunCtl(Targets(), args); }

  dorset::testing::TempDir engagement_dir_, registry_dir_, finance_dir_;
  std::unique_ptr<runtime::ServiceHost> engagement_, registry_, finance_;
};

TEST_F(CliConventionsTest, EnumValuesInAnyCaseWithOrWithoutTheTypePrefix) {
  Result created = Ctl("engagement create-activity --id=story --title=Story --kind=consultation");
  ASSERT_EQ(created.exit_code, 0) << created.out;
  EXPECT_NE(created.out.find("\"kind\":\"ACTIVITY_KIND_CONSULTATION\""), std::string::npos)
      << created.out;
  ASSERT_EQ(Ctl("engagement create-activity --id=survey --title=S --kind=Survey").exit_code, 0);
  ASSERT_EQ(Ctl("engagement create-activity --id=event --title=E --kind=public-event").exit_code,
            0);
  ASSERT_EQ(Ctl("engagement open activities/story").exit_code, 0);
  // The case, and the prefixed spelling the HTTP/JSON names use.
  for (const std::string channel : {"online", "ONLINE", "Channel_Online", "CHANNEL_ONLINE"}) {
    Result r = Ctl(absl::StrCat("engagement respond story --channel=", channel,
                                " --sentiment=sentiment_supportive --text=hello"));
    EXPECT_EQ(r.exit_code, 0) << channel << ": " << r.out;
    EXPECT_NE(r.out.find("\"channel\":\"CHANNEL_ONLINE\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"sentiment\":\"SENTIMENT_SUPPORTIVE\""), std::string::npos) << r.out;
  }
  Result open = Ctl("engagement list-activities --state=open");
  ASSERT_EQ(open.exit_code, 0) << open.out;
  EXPECT_NE(open.out.find("activities/story"), std::string::npos) << open.out;
  EXPECT_EQ(open.out.find("activities/survey"), std::string::npos) << open.out;
  // Finance and registry go through the same parser.
  Result posted =
      Ctl("finance post --scheme=plans/dorset-stp/programmes/managing-demand/schemes/rightcare "
          "--year=2020-21 --month=1 --kind=Posting_Kind_Actual --amount=1.00");
  EXPECT_EQ(posted.exit_code, 0) << posted.out;
  EXPECT_EQ(Ctl("registry list --status=active,Status_Closed").exit_code, 0);
}

TEST_F(CliConventionsTest, AWrongEnumValueIsNamedWithTheValidValues) {
  Result r = Ctl("engagement respond story --channel=onlin");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--channel: unknown value \"onlin\"; valid values: online, letter, "
                       "event, phone"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("usage:"), std::string::npos) << "a reason, not the usage: " << r.out;
  // The zero value is not a choice.
  Result unspecified = Ctl("engagement respond story --channel=channel_unspecified");
  EXPECT_EQ(unspecified.exit_code, 2) << unspecified.out;
  Result kind =
      Ctl("finance post --scheme=plans/dorset-stp/programmes/managing-demand/schemes/rightcare "
          "--year=2020-21 --month=1 --kind=actuals --amount=1.00");
  EXPECT_EQ(kind.exit_code, 2);
  EXPECT_NE(kind.out.find("valid values: plan, actual, forecast"), std::string::npos) << kind.out;
  Result status = Ctl("registry list --status=open");
  EXPECT_EQ(status.exit_code, 2);
  EXPECT_NE(status.out.find("valid values: active, closed, dormant, proposed"), std::string::npos)
      << status.out;
}

TEST_F(CliConventionsTest, EveryGroupPrintsCanonicalCamelCaseJson) {
  Result activity = Ctl("engagement create-activity --id=json --title=J --kind=survey");
  ASSERT_EQ(activity.exit_code, 0) << activity.out;
  EXPECT_NE(activity.out.find("\"createTime\""), std::string::npos) << activity.out;
  EXPECT_EQ(activity.out.find("\"create_time\""), std::string::npos) << activity.out;

  Result imported = Ctl(absl::StrCat("registry import-localities ", DORSET_SOURCE_DIR,
                                     "/data/dorset/localities.csv ", DORSET_SOURCE_DIR,
                                     "/data/dorset/practice-localities.csv"));
  ASSERT_EQ(imported.exit_code, 0) << imported.out;
  Result locality = Ctl("registry locality poole-bay");
  ASSERT_EQ(locality.exit_code, 0) << locality.out;
  EXPECT_NE(locality.out.find("\"displayName\": \"Poole Bay\""), std::string::npos) << locality.out;
  Result clusters = Ctl("registry clusters");
  ASSERT_EQ(clusters.exit_code, 0) << clusters.out;
  EXPECT_NE(clusters.out.find("\"displayName\":\"Poole and Purbeck\""), std::string::npos)
      << clusters.out;
  EXPECT_EQ((locality.out + clusters.out).find("\"display_name\""), std::string::npos);
}

// ---- item 13: the client's own settings ----

class CliSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    finance_ = StartHost<finance::FinanceModule>("finance", finance_dir_.path());
    ASSERT_TRUE(finance_);
    good_ = absl::StrCat("127.0.0.1:", finance_->grpc_port());
    bad_ = absl::StrCat("127.0.0.1:", ClosedPort());
    xdg_ = absl::StrCat(config_dir_.path(), "/xdg");
    ASSERT_EQ(system(absl::StrCat("mkdir -p ", xdg_, "/dorsetctl ", config_dir_.path(),
                                  "/home/.config/dorsetctl")
                         .c_str()),
              0);
  }
  // Config file under $XDG_CONFIG_HOME naming `finance`.
  std::string XdgFile(const std::string& finance) {
    WriteFile(xdg_ + "/dorsetctl/config", absl::StrCat("# dorsetctl\nfinance = ", finance, "\n"));
    return absl::StrCat("XDG_CONFIG_HOME=", xdg_);
  }
  int Plans(const std::string& env, const std::string& flags = "") {
    return RunCtl(absl::StrCat("HOME=", config_dir_.path(), "/home ", env),
                  absl::StrCat("finance plans ", flags))
        .exit_code;
  }

  dorset::testing::TempDir finance_dir_, config_dir_;
  std::unique_ptr<runtime::ServiceHost> finance_;
  std::string good_, bad_, xdg_;
};

TEST_F(CliSettingsTest, FlagBeatsEnvironmentBeatsConfigFileBeatsDefault) {
  // Each level reaches the service when it is right, and wins over the levels below it even
  // when they are wrong; a wrong value at a higher level is not rescued by a right one below.
  EXPECT_EQ(Plans(XdgFile(bad_) + " DORSETCTL_FINANCE=" + bad_, "--target=" + good_), 0);
  EXPECT_EQ(Plans(XdgFile(bad_) + " DORSETCTL_FINANCE=" + bad_, "--finance=" + good_), 0);
  EXPECT_EQ(Plans(XdgFile(good_) + " DORSETCTL_FINANCE=" + good_, "--target=" + bad_), 1);
  EXPECT_EQ(Plans(XdgFile(bad_) + " DORSETCTL_FINANCE=" + good_), 0);
  EXPECT_EQ(Plans(XdgFile(good_) + " DORSETCTL_FINANCE=" + bad_), 1);
  EXPECT_EQ(Plans(XdgFile(good_)), 0);
  EXPECT_EQ(Plans(XdgFile(bad_)), 1);
  // --config and DORSETCTL_CONFIG name another file (the flag first).
  const std::string other = absl::StrCat(config_dir_.path(), "/other");
  WriteFile(other, "finance=" + good_ + "\n");
  EXPECT_EQ(Plans(XdgFile(bad_), "--config=" + other), 0);
  EXPECT_EQ(Plans(XdgFile(bad_) + " DORSETCTL_CONFIG=" + other), 0);
  // Without XDG_CONFIG_HOME the file is ~/.config/dorsetctl/config.
  WriteFile(absl::StrCat(config_dir_.path(), "/home/.config/dorsetctl/config"),
            "finance = " + good_ + "\n");
  EXPECT_EQ(Plans(""), 0);

  // The default, and where each value came from, as `dorsetctl config` reports them.
  Result shown = RunCtl(absl::StrCat("HOME=", config_dir_.path(), "/nobody ",
                                     "DORSETCTL_REGISTRY=10.0.0.1:1 DORSET_FINANCE_TARGET=", good_),
                        "config --engagement=10.0.0.3:3");
  ASSERT_EQ(shown.exit_code, 0) << shown.out;
  EXPECT_NE(shown.out.find("registry\t10.0.0.1:1\tenv DORSETCTL_REGISTRY"), std::string::npos)
      << shown.out;
  // The servers' variable is not the client's: finance stays at its default.
  EXPECT_NE(shown.out.find("finance\t127.0.0.1:50052\tdefault"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("engagement\t10.0.0.3:3\tflag --engagement"), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("finance_ops\t127.0.0.1:8082\tdefault"), std::string::npos) << shown.out;
  Result from_file = RunCtl(XdgFile(bad_), "config");
  EXPECT_NE(
      from_file.out.find(absl::StrCat("finance\t", bad_, "\tconfig ", xdg_, "/dorsetctl/config:2")),
      std::string::npos)
      << from_file.out;
}

TEST_F(CliSettingsTest, TheServersVariablesDoNotMoveTheClientAndBadFilesAreNamed) {
  // DORSET_FINANCE_TARGET is a server-side name: pointing it at the service changes nothing
  // for the client, which stays on its own (here: wrong) setting.
  EXPECT_EQ(Plans(XdgFile(bad_) + " DORSET_FINANCE_TARGET=" + good_), 1);
  WriteFile(xdg_ + "/dorsetctl/config", "finance = " + good_ + "\ntarget = x\n");
  Result unknown = RunCtl(absl::StrCat("XDG_CONFIG_HOME=", xdg_), "finance plans");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.out.find("config:2: unknown key \"target\""), std::string::npos) << unknown.out;
  Result missing = RunCtl("", "finance plans --config=/nonexistent/dorsetctl");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.out.find("cannot read /nonexistent/dorsetctl"), std::string::npos)
      << missing.out;
  // The token never appears in `dorsetctl config`.
  Result shown = RunCtl("DORSETCTL_TOKEN=s3cret-token", "config");
  EXPECT_EQ(shown.out.find("s3cret-token"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("token\t(set)\tenv DORSETCTL_TOKEN"), std::string::npos) << shown.out;
}

}  // namespace
}  // namespace dorset::cli
