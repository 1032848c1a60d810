// RAII owners for the FFmpeg handles the backends hold. hwbackends depends on FFmpeg only, so it keeps
// these small deleters of its own rather than borrowing the engine's.
#pragma once

#include <memory>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/buffer.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
}

namespace pvt::hw {

struct CodecContextFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct BufferUnref {
  void operator()(AVBufferRef* b) const { av_buffer_unref(&b); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};

using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextFree>;
using BufferPtr = std::unique_ptr<AVBufferRef, BufferUnref>;
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;

inline std::string err_text(int e) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(e, buf, sizeof buf);
  return buf;
}

}  // namespace pvt::hw
