// dorset-engagement-synth: writes SYNTHETIC responses straight into an engagement store through
// the service library (same schema, same counters), for benchmarks at a million responses.
// Run it while the server is stopped (or against a copy of the store).
//
//   dorset-engagement-synth --data_dir=var/engagement --activity=synthetic-survey
//       --count=1000000 --themes=8 --localities=localities/a,localities/b --seed=7
//
// The store is the services' `database` setting: --database (or DORSET_DATABASE; empty: SQLite
// at <data_dir>/engagement.db, sqlite:///path, or postgres://user@host:port/db) with
// PostgreSQL's password from --database_password_file (or DORSET_DATABASE_PASSWORD_FILE).
//
// The activity is created (kind SURVEY, title "[SYNTHETIC] ...", `--themes` themes) when it does
// not exist yet; existing activities keep their themes. Prints one JSON line when done.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "runtime/api/page_token.h"
#include "runtime/config/config.h"
#include "runtime/logging/log.h"
#include "services/engagement/domain/engagement.h"
#include "services/engagement/domain/names.h"
#include "services/engagement/synthetic/synthetic_responses.h"

namespace {

using namespace dorset;              // NOLINT
using namespace dorset::engagement;  // NOLINT

int Fail(const absl::Status& status) {
  std::cerr << "dorset-engagement-synth: " << status << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "var/engagement", activity = "synthetic-survey", localities_flag;
  // As the services take them: the flag wins over the environment.
  const char* database_env = std::getenv("DORSET_DATABASE");
  const char* password_env = std::getenv("DORSET_DATABASE_PASSWORD_FILE");
  std::string database = database_env == nullptr ? "" : database_env;
  std::string password_file = password_env == nullptr ? "" : password_env;
  int64_t count = 1000;
  int themes = 6;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq),
                      value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    bool ok = true;
    if (name == "--data_dir")
      data_dir = value;
    else if (name == "--database")
      database = value;
    else if (name == "--database_password_file")
      password_file = value;
    else if (name == "--activity")
      activity = value;
    else if (name == "--count")
      ok = absl::SimpleAtoi(value, &count) && count >= 0;
    else if (name == "--themes")
      ok = absl::SimpleAtoi(value, &themes) && themes >= 0 && themes <= 50;
    else if (name == "--seed")
      ok = absl::SimpleAtoi(value, &seed);
    else if (name == "--localities")
      localities_flag = value;
    else
      ok = false;
    if (!ok) {
      std::cerr << "bad flag: " << arg << "\n"
                << "usage: dorset-engagement-synth --data_dir=DIR --activity=ID --count=N "
                   "[--themes=N] [--localities=localities/a,...] [--seed=N] "
                   "[--database=sqlite:///PATH|postgres://USER@HOST:PORT/DB] "
                   "[--database_password_file=FILE]\n";
      return 2;
    }
  }
  if (!IsValidId(activity)) {
    std::cerr << "--activity must match [a-z][a-z0-9-]{0,62}\n";
    return 2;
  }
  (void)runtime::log::Init("engagement-synth", "warn");
  std::filesystem::create_directories(data_dir);
  runtime::ServerConfig config;
  config.data_dir = data_dir;
  config.database = database;
  config.database_password_file = password_file;
  auto store = EngagementStore::Open(config);
  if (!store.ok()) return Fail(store.status());
  auto tokens = runtime::PageTokenCodec::ForDataDir(data_dir);
  if (!tokens.ok()) return Fail(tokens.status());
  Engagement engagement(**store, /*registry=*/nullptr, *tokens);
  runtime::Caller tool;
  tool.principal = "engagement-synth";
  tool.roles = {"admin"};

  std::vector<std::string> localities;
  if (!localities_flag.empty()) {
    for (absl::string_view l : absl::StrSplit(localities_flag, ',')) localities.emplace_back(l);
  }
  v1::GetActivityRequest get;
  get.set_name(ActivityName(activity));
  v1::Activity existing;
  if (absl::Status found = engagement.activities().GetActivity(get, &existing);
      absl::IsNotFound(found)) {
    v1::CreateActivityRequest create;
    create.set_activity_id(activity);
    create.mutable_activity()->set_kind(v1::ACTIVITY_KIND_SURVEY);
    create.mutable_activity()->set_title(absl::StrCat("[SYNTHETIC] generated survey ", activity));
    create.mutable_activity()->set_purpose("Synthetic data for tests and benchmarks.");
    for (const std::string& l : localities) create.mutable_activity()->add_localities(l);
    if (absl::Status s = engagement.activities().CreateActivity(tool, create, &existing); !s.ok())
      return Fail(s);
    for (int t = 1; t <= themes; ++t) {
      v1::CreateThemeRequest theme;
      theme.set_parent(ActivityName(activity));
      theme.set_theme_id(absl::StrCat("synthetic-theme-", t));
      theme.mutable_theme()->set_display_name(absl::StrCat("[SYNTHETIC] theme ", t));
      v1::Theme out;
      if (absl::Status s = engagement.themes_and_decisions().CreateTheme(tool, theme, &out);
          !s.ok())
        return Fail(s);
    }
  } else if (!found.ok()) {
    return Fail(found);
  }
  std::vector<std::string> theme_names;
  v1::ListThemesRequest list;
  list.set_parent(ActivityName(activity));
  list.set_page_size(500);
  v1::ListThemesResponse listed;
  if (absl::Status s = engagement.themes_and_decisions().ListThemes(list, &listed); !s.ok())
    return Fail(s);
  for (const auto& t : listed.themes()) theme_names.push_back(t.name());

  SyntheticResponses generator({seed, theme_names, localities});
  const absl::Time start = absl::Now();
  constexpr int64_t kChunk = 100000;  // generated and written in chunks: memory stays flat
  for (int64_t done = 0; done < count;) {
    const int64_t n = std::min(kChunk, count - done);
    std::vector<v1::Response> chunk;
    chunk.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) chunk.push_back(generator.Next());
    if (absl::Status s = engagement.BulkLoadResponses(activity, chunk); !s.ok()) return Fail(s);
    done += n;
  }
  std::cout << "{\"activity\":\"" << ActivityName(activity)
            << "\",\"synthetic_responses\":" << count
            << ",\"seconds\":" << absl::ToDoubleSeconds(absl::Now() - start) << "}\n";
  return 0;
}
