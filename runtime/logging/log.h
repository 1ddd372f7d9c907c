// Structured JSON logging: one JSON object per line on stderr (spdlog underneath), so log
// shippers parse fields instead of grepping text.
//
//   log::Info("practice imported", {{"added", 12}, {"file", path}});
//
// Never pass personal data (names, contact details, response text) as a field or message.
#ifndef DORSET_RUNTIME_LOGGING_LOG_H_
#define DORSET_RUNTIME_LOGGING_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace spdlog::sinks {
class sink;
}

namespace dorset::runtime::log {

// One key and its value, rendered to JSON when the field is built.
class Field {
 public:
  Field(std::string_view key, std::string_view value);
  Field(std::string_view key, const char* value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, const std::string& value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, int64_t value);
  Field(std::string_view key, int value) : Field(key, static_cast<int64_t>(value)) {}
  Field(std::string_view key, uint64_t value);
  Field(std::string_view key, double value);
  Field(std::string_view key, bool value);

  // `"key":value` ready to splice into an object.
  const std::string& json() const { return json_; }

 private:
  std::string json_;
};

using Fields = std::initializer_list<Field>;

// Configures the process logger. `level` is one of trace, debug, info, warn, error.
// Returns INVALID_ARGUMENT for an unknown level. Safe to call more than once.
absl::Status Init(std::string_view service, std::string_view level);

// Sends log lines to `sink` instead of stderr (tests capture what was logged).
void InitWithSink(std::string_view service, std::shared_ptr<spdlog::sinks::sink> sink);

enum class Level { kDebug, kInfo, kWarn, kError };
// Whether a line at `level` would be written now: a caller whose fields cost something to build
// (the access log of every call) asks first.
bool Enabled(Level level);

void Debug(std::string_view message, Fields fields = {});
void Info(std::string_view message, Fields fields = {});
void Warn(std::string_view message, Fields fields = {});
void Error(std::string_view message, Fields fields = {});

// Appends `value` to `out` as a quoted, escaped JSON string.
void AppendJsonString(std::string& out, std::string_view value);

}  // namespace dorset::runtime::log

#endif  // DORSET_RUNTIME_LOGGING_LOG_H_
