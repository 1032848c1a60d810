#include "log_capture.hpp"

#include <cstdarg>
#include <cstdio>
#include <mutex>

extern "C" {
#include <libavutil/log.h>
}

namespace pvt::hw {

namespace {

thread_local std::string* t_capture = nullptr;

void capturing_log_callback(void* avcl, int level, const char* fmt, va_list args) {
  if (t_capture) {
    if (level <= AV_LOG_ERROR) {
      char line[512];
      std::vsnprintf(line, sizeof line, fmt, args);
      std::string text = line;
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      if (!text.empty() && t_capture->find(text) == std::string::npos)
        *t_capture += (t_capture->empty() ? "" : "; ") + text;
    }
    return;  // a probe's warnings are noise on the user's terminal
  }
  av_log_default_callback(avcl, level, fmt, args);
}

}  // namespace

LogCapture::LogCapture() : previous_(t_capture) {
  static std::once_flag installed;
  std::call_once(installed, [] { av_log_set_callback(capturing_log_callback); });
  t_capture = &text_;
}

LogCapture::~LogCapture() {
  t_capture = previous_;
}

}  // namespace pvt::hw
