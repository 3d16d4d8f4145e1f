// Leveled logging to stderr with a "[time level job rank]" prefix.
//
//   FLYP_LOG(INFO) << "loaded " << n << " images";
//
// The level threshold comes from FLYP_LOG_LEVEL (see common/env.h); the job
// and rank prefixes are set once at start-up with SetLogContext(). Lines are
// written with one write() each, so lines from threads never interleave.
// Thread-safe.
#pragma once

#include <sstream>
#include <string>

namespace flyp {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug|info|warning|warn|error" (case-insensitive); false if unknown.
bool ParseLogLevel(const std::string& text, LogLevel* out);
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// job may be empty; rank < 0 means "no rank".
void SetLogContext(const std::string& job, int rank);

namespace internal {
class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};
struct LogVoidify {
  void operator&(std::ostream&) {}
};
}  // namespace internal

}  // namespace flyp

#define FLYP_LOG_LEVEL_DEBUG ::flyp::LogLevel::kDebug
#define FLYP_LOG_LEVEL_INFO ::flyp::LogLevel::kInfo
#define FLYP_LOG_LEVEL_WARNING ::flyp::LogLevel::kWarning
#define FLYP_LOG_LEVEL_ERROR ::flyp::LogLevel::kError

#define FLYP_LOG(level)                            \
  (FLYP_LOG_LEVEL_##level < ::flyp::GetLogLevel()) \
      ? (void)0                                    \
      : ::flyp::internal::LogVoidify() &           \
            ::flyp::internal::LogMessage(FLYP_LOG_LEVEL_##level, __FILE__, __LINE__).stream()
