#include "runtime/storage/database_url.h"

#include "gtest/gtest.h"
#include "runtime/config/config.h"
#include "runtime/testing/temp_dir.h"

namespace dorset::runtime::storage {
namespace {

TEST(DatabaseUrl, EmptyMeansSqliteUnderDataDir) {
  absl::StatusOr<DatabaseUrl> url = ParseDatabaseUrl("", "var/finance", "finance");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->kind, DatabaseUrl::Kind::kSqlite);
  EXPECT_EQ(url->sqlite_path, "var/finance/finance.db");
}

TEST(DatabaseUrl, SqliteNeedsAnAbsolutePath) {
  absl::StatusOr<DatabaseUrl> url = ParseDatabaseUrl("sqlite:///srv/data/x.db", "d", "s");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->sqlite_path, "/srv/data/x.db");
  EXPECT_EQ(url->Redacted(), "sqlite:///srv/data/x.db");
  for (const char* bad : {"sqlite://relative.db", "sqlite://", "sqlite:///dir/"}) {
    absl::StatusOr<DatabaseUrl> r = ParseDatabaseUrl(bad, "d", "s");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("database"), absl::string_view::npos) << r.status();
  }
}

TEST(DatabaseUrl, PostgresUriParts) {
  absl::StatusOr<DatabaseUrl> url = ParseDatabaseUrl(
      "postgres://dorset@db.example:6543/finance?sslmode=verify-full&connect_timeout=3", "d", "s");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->kind, DatabaseUrl::Kind::kPostgres);
  EXPECT_EQ(url->user, "dorset");
  EXPECT_EQ(url->host, "db.example");
  EXPECT_EQ(url->port, 6543);
  EXPECT_EQ(url->dbname, "finance");
  absl::StatusOr<DatabaseUrl> v6 = ParseDatabaseUrl("postgresql://u@[::1]:5433/x", "d", "s");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 5433);
}

TEST(DatabaseUrl, PasswordInTheUriIsRefusedWithoutEchoingIt) {
  for (const char* bad : {"postgres://dorset:s3cret-pw@db/finance",
                          "postgres://dorset@db/finance?password=s3cret-pw"}) {
    absl::StatusOr<DatabaseUrl> r = ParseDatabaseUrl(bad, "d", "s");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().find("s3cret-pw"), absl::string_view::npos) << r.status();
    EXPECT_NE(r.status().message().find("database_password_file"), absl::string_view::npos);
  }
}

TEST(DatabaseUrl, MalformedValuesNameTheSetting) {
  for (const char* bad :
       {"mysql://x@y/z", "no-scheme", "postgres://u@h:99999/db", "postgres://u@h/db?sslmode=maybe",
        "postgres://u@h/db?colour=blue", "postgres://u@a,b/db"}) {
    absl::StatusOr<DatabaseUrl> r = ParseDatabaseUrl(bad, "d", "s");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("database"), absl::string_view::npos) << r.status();
  }
}

TEST(DatabaseUrl, PasswordFileFirstLine) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("pw"), "hunter2\r\nignored\n");
  absl::StatusOr<std::string> pw = ReadPasswordFile(dir.File("pw"));
  ASSERT_TRUE(pw.ok());
  EXPECT_EQ(*pw, "hunter2");
  testing::WriteFile(dir.File("empty"), "");
  EXPECT_EQ(ReadPasswordFile(dir.File("empty")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadPasswordFile(dir.File("missing")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DatabaseUrl, ConfigTakesDatabaseFromEnvironmentAndChecksIt) {
  const ServerDefaults defaults{"finance", "127.0.0.1:0", "127.0.0.1:0"};
  const char* argv[] = {"dorset-finance", "--plaintext", "--auth=none"};
  auto env = [](std::string value) -> EnvLookup {
    return [value](const std::string& name) -> std::optional<std::string> {
      if (name == "DORSET_DATABASE") return value;
      return std::nullopt;
    };
  };
  absl::StatusOr<ServerConfig> good =
      LoadServerConfig(defaults, 3, argv, env("postgres://dorset@db:5432/finance"));
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->database, "postgres://dorset@db:5432/finance");
  absl::StatusOr<ServerConfig> bad =
      LoadServerConfig(defaults, 3, argv, env("postgres://u:pw@db/x"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("database"), absl::string_view::npos) << bad.status();
  const char* with_file[] = {"dorset-finance", "--plaintext", "--auth=none",
                             "--database_password_file=/nonexistent/pw"};
  absl::StatusOr<ServerConfig> missing = LoadServerConfig(defaults, 4, with_file, env(""));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("database_password_file"), absl::string_view::npos);
}

}  // namespace
}  // namespace dorset::runtime::storage
