// RAII owners for every FFmpeg handle the engine touches. Each is a unique_ptr with a deleter that calls
// the matching FFmpeg free function, so no early return or exception can leak a context.
#pragma once

#include <memory>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

namespace pvt::av {

struct InputFormatDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct OutputFormatDeleter {
  void operator()(AVFormatContext* c) const {
    if (!c) return;
    if (c->pb && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FilterGraphDeleter {
  void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
};
struct CodecParametersDeleter {
  void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
};
struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
struct ScalerDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct AudioFifoDeleter;

using InputFormat = std::unique_ptr<AVFormatContext, InputFormatDeleter>;
using OutputFormat = std::unique_ptr<AVFormatContext, OutputFormatDeleter>;
using CodecContext = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using Frame = std::unique_ptr<AVFrame, FrameDeleter>;
using Packet = std::unique_ptr<AVPacket, PacketDeleter>;
using FilterGraph = std::unique_ptr<AVFilterGraph, FilterGraphDeleter>;
using Resampler = std::unique_ptr<SwrContext, SwrDeleter>;
using CodecParameters = std::unique_ptr<AVCodecParameters, CodecParametersDeleter>;
using Scaler = std::unique_ptr<SwsContext, ScalerDeleter>;

// Allocators that never return null (they throw std::bad_alloc instead).
Frame make_frame();
Packet make_packet();

// The planar format a deprecated full-range "yuvj" format stands for (the same pixels, the range given
// apart, as swscale wants them: it warns about the yuvj formats); any other format is returned as is.
AVPixelFormat plain_format(AVPixelFormat f);
// The format swscale should read a frame of format `f` as, on its way to `target`: a yuvj format whose yuv
// twin is the target is read as that twin, so its full range is kept rather than squeezed into limited
// range (the caller tags the result full range).
inline AVPixelFormat scaler_source_format(AVPixelFormat f, AVPixelFormat target) {
  return plain_format(f) == target ? target : f;
}

}  // namespace pvt::av
