// Log levels (the RFC 5424 names MCP uses) and the server's logger: every record goes to stderr when at
// or above the configured level, and is forwarded (to the MCP session, as notifications/message) so the
// client sees what it asked for with logging/setLevel. stdout is never touched: it carries protocol only.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace pvt::mcp {

enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError, kCritical, kAlert, kEmergency };

std::optional<LogLevel> parse_log_level(std::string_view name);
const char* log_level_name(LogLevel level);

class Logger {
 public:
  using Forward = std::function<void(LogLevel, const std::string&)>;
  explicit Logger(LogLevel stderr_level) : stderr_level_(stderr_level) {}

  void log(LogLevel level, const std::string& text);
  void debug(const std::string& text) { log(LogLevel::kDebug, text); }
  void info(const std::string& text) { log(LogLevel::kInfo, text); }
  void warning(const std::string& text) { log(LogLevel::kWarning, text); }
  void error(const std::string& text) { log(LogLevel::kError, text); }

  // Set once the session exists, cleared before it goes away.
  void set_forward(Forward forward);

 private:
  LogLevel stderr_level_;
  std::mutex mutex_;
  Forward forward_;
};

}  // namespace pvt::mcp
