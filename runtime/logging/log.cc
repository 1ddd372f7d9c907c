#include "runtime/logging/log.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace dorset::runtime::log {
namespace {

std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> logger;
  return logger;
}

// The installed logger's level, readable without touching the logger (Enabled is asked per call).
std::atomic<int>& CurrentLevel() {
  static std::atomic<int> level{spdlog::level::info};
  return level;
}

std::mutex& InitMutex() {
  static std::mutex mu;
  return mu;
}

void Install(std::string_view service, std::shared_ptr<spdlog::sinks::sink> sink,
             spdlog::level::level_enum level) {
  std::string service_json;
  AppendJsonString(service_json, service);
  auto logger = std::make_shared<spdlog::logger>("dorset", std::move(sink));
  // The message (%v) is already `"msg":...,fields`, so each line is a whole JSON object.
  logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      absl::StrCat(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","service":)", service_json,
                   ",%v}"),
      spdlog::pattern_time_type::utc));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  std::lock_guard<std::mutex> lock(InitMutex());
  std::atomic_store(&Logger(), logger);
  CurrentLevel().store(level);
}

std::shared_ptr<spdlog::logger> Current() {
  auto logger = std::atomic_load(&Logger());
  if (logger) return logger;
  Install("unknown", std::make_shared<spdlog::sinks::stderr_sink_mt>(), spdlog::level::info);
  return std::atomic_load(&Logger());
}

void Emit(spdlog::level::level_enum level, std::string_view message, Fields fields) {
  auto logger = Current();
  if (!logger->should_log(level)) return;
  std::string line = "\"msg\":";
  AppendJsonString(line, message);
  for (const Field& field : fields) {
    line.push_back(',');
    line.append(field.json());
  }
  logger->log(level, "{}", line);
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view value) {
  out.push_back('"');
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

namespace {
std::string Key(std::string_view key) {
  std::string out;
  AppendJsonString(out, key);
  out.push_back(':');
  return out;
}
}  // namespace

Field::Field(std::string_view key, std::string_view value) : json_(Key(key)) {
  AppendJsonString(json_, value);
}
Field::Field(std::string_view key, int64_t value) : json_(Key(key) + std::to_string(value)) {}
Field::Field(std::string_view key, uint64_t value) : json_(Key(key) + std::to_string(value)) {}
Field::Field(std::string_view key, double value)
    : json_(Key(key) + (std::isfinite(value) ? absl::StrCat(value) : "null")) {}
Field::Field(std::string_view key, bool value) : json_(Key(key) + (value ? "true" : "false")) {}

absl::Status Init(std::string_view service, std::string_view level) {
  spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(absl::StrCat("log_level: unknown level \"",
                                                   absl::string_view(level.data(), level.size()),
                                                   "\" (use trace, debug, info, warn or error)"));
  }
  Install(service, std::make_shared<spdlog::sinks::stderr_sink_mt>(), parsed);
  return absl::OkStatus();
}

void InitWithSink(std::string_view service, std::shared_ptr<spdlog::sinks::sink> sink) {
  Install(service, std::move(sink), spdlog::level::debug);
}

bool Enabled(Level level) {
  spdlog::level::level_enum wanted = spdlog::level::info;
  switch (level) {
    case Level::kDebug:
      wanted = spdlog::level::debug;
      break;
    case Level::kInfo:
      wanted = spdlog::level::info;
      break;
    case Level::kWarn:
      wanted = spdlog::level::warn;
      break;
    case Level::kError:
      wanted = spdlog::level::err;
      break;
  }
  return wanted >= CurrentLevel().load(std::memory_order_relaxed);
}

void Debug(std::string_view message, Fields fields) { Emit(spdlog::level::debug, message, fields); }
void Info(std::string_view message, Fields fields) { Emit(spdlog::level::info, message, fields); }
void Warn(std::string_view message, Fields fields) { Emit(spdlog::level::warn, message, fields); }
void Error(std::string_view message, Fields fields) { Emit(spdlog::level::err, message, fields); }

}  // namespace dorset::runtime::log
