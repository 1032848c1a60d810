#include "logging.hpp"

#include <array>
#include <cstdio>

namespace pvt::mcp {

namespace {

constexpr std::array<const char*, 8> kNames = {"debug", "info",     "notice", "warning",
                                               "error", "critical", "alert",  "emergency"};

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (name == kNames[i]) return static_cast<LogLevel>(i);
  return std::nullopt;
}

const char* log_level_name(LogLevel level) {
  return kNames[static_cast<std::size_t>(level)];
}

void Logger::log(LogLevel level, const std::string& text) {
  Forward forward;
  {
    std::lock_guard lock(mutex_);
    if (level >= stderr_level_) {
      std::fprintf(stderr, "pvt-mcp: %s: %s\n", log_level_name(level), text.c_str());
      std::fflush(stderr);
    }
    forward = forward_;
  }
  // Outside the lock: the session takes its own locks to write the notification.
  if (forward) forward(level, text);
}

void Logger::set_forward(Forward forward) {
  std::lock_guard lock(mutex_);
  forward_ = std::move(forward);
}

}  // namespace pvt::mcp
