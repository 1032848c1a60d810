// FFmpeg says why a device or encoder would not open ("Cannot load libcuda.so.1", "No NVENC capable
// devices found") only through av_log; its error codes are vague ("Generic error in an external
// library"). While a LogCapture lives, this thread's error lines are collected instead of printed; other
// threads' lines take FFmpeg's default path.
#pragma once

#include <string>

namespace pvt::hw {

class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string* previous_;
};

}  // namespace pvt::hw
