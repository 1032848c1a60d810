// The one error type of the engine: a code the CLI maps to an exit status, and a message that names the
// file and the cause, printed on one line.
#pragma once

#include <stdexcept>
#include <string>

namespace pvt {

enum class ErrorCode {
  kUsage = 2,     // bad option or argument
  kInput = 3,     // input missing, unreadable, not a video, truncated beyond use
  kOutput = 4,    // output path unwritable, disk full
  kEncode = 5,    // a worker or encoder failed
  kVerify = 6,    // the assembled output failed its checks
  kInternal = 7,  // a bug or an unexpected library failure
  kInterrupted = 130,
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// FFmpeg's text for an AVERROR code ("No such file or directory", "Invalid data found ...").
std::string av_error_text(int averror);

// Throws Error(code, context + ": " + av_error_text(ret)) when ret < 0; returns ret otherwise.
int check_av(int ret, ErrorCode code, const std::string& context);

}  // namespace pvt
