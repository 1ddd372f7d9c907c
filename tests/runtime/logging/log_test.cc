#include "runtime/logging/log.h"

#include <sstream>

#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"

namespace dorset::runtime::log {
namespace {

TEST(LogTest, WritesOneJsonObjectPerLineWithEscapedFields) {
  std::ostringstream out;
  InitWithSink("registry", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  Info("imported \"file\"", {{"rows", 139}, {"path", "a\\b\nc"}, {"ok", true}, {"ratio", 0.5}});
  const std::string line = out.str();
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // exactly one line
  EXPECT_EQ(line.front(), '{');
  EXPECT_NE(line.find(R"("level":"info")"), std::string::npos);
  EXPECT_NE(line.find(R"("service":"registry")"), std::string::npos);
  EXPECT_NE(line.find(R"("msg":"imported \"file\"")"), std::string::npos);
  EXPECT_NE(line.find(R"("rows":139)"), std::string::npos);
  EXPECT_NE(line.find(R"("path":"a\\b\nc")"), std::string::npos);
  EXPECT_NE(line.find(R"("ok":true)"), std::string::npos);
  EXPECT_NE(line.find(R"("time":")"), std::string::npos);
}

TEST(LogTest, InitRejectsUnknownLevels) {
  EXPECT_FALSE(Init("x", "loud").ok());
  EXPECT_TRUE(Init("x", "warn").ok());
}

// The access log asks Enabled before building a call's fields, so it must follow the level.
TEST(LogTest, EnabledFollowsTheConfiguredLevel) {
  ASSERT_TRUE(Init("x", "warn").ok());
  EXPECT_FALSE(Enabled(Level::kDebug));
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kWarn));
  EXPECT_TRUE(Enabled(Level::kError));
  ASSERT_TRUE(Init("x", "info").ok());
  EXPECT_FALSE(Enabled(Level::kDebug));
  EXPECT_TRUE(Enabled(Level::kInfo));
  std::ostringstream out;
  InitWithSink("x", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));  // debug and up
  EXPECT_TRUE(Enabled(Level::kDebug));
}

TEST(LogTest, ControlCharactersAreEscaped) {
  std::string out;
  AppendJsonString(out, std::string("a\x01", 2));
  EXPECT_EQ(out, "\"a\\u0001\"");
}

}  // namespace
}  // namespace dorset::runtime::log
