#include "error.hpp"

extern "C" {
#include <libavutil/error.h>
}

namespace pvt {

std::string av_error_text(int averror) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(averror, buf, sizeof buf) < 0) return "unknown FFmpeg error " + std::to_string(averror);
  return buf;
}

int check_av(int ret, ErrorCode code, const std::string& context) {
  if (ret < 0) throw Error(code, context + ": " + av_error_text(ret));
  return ret;
}

}  // namespace pvt
