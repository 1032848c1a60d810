#include "lavc_encoder.hpp"

#include <algorithm>

#include "log_capture.hpp"

extern "C" {
#include <libavutil/hwcontext.h>
}

namespace pvt::hw {

const AVCodec* find_encoder(const char* ffmpeg_name) {
  const AVCodec* codec = avcodec_find_encoder_by_name(ffmpeg_name);
  if (!codec) throw BackendError(std::string("encoder ") + ffmpeg_name + " is not built into this FFmpeg");
  return codec;
}

CodecContextPtr encoder_context(const AVCodec* codec, const EncoderConfig& cfg) {
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw std::bad_alloc();
  AVCodecContext* c = ctx.get();
  c->width = cfg.width;
  c->height = cfg.height;
  c->pix_fmt = cfg.pix_fmt;
  c->time_base = cfg.time_base;
  c->framerate = cfg.frame_rate;
  c->sample_aspect_ratio = cfg.sample_aspect_ratio;
  c->color_range = cfg.color_range;
  c->color_primaries = cfg.color_primaries;
  c->color_trc = cfg.color_trc;
  c->colorspace = cfg.colorspace;
  c->chroma_sample_location = cfg.chroma_location;
  c->thread_count = cfg.threads > 0 ? cfg.threads : 1;
  c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  return ctx;
}

void set_capped_bitrate(AVCodecContext* c, std::int64_t bitrate) {
  c->bit_rate = bitrate;
  c->rc_max_rate = bitrate * 3 / 2;
  c->rc_buffer_size = static_cast<int>(std::min<std::int64_t>(bitrate * 2, INT32_MAX));
}

void set_peak_bitrate(AVCodecContext* c, std::int64_t peak) {
  if (peak <= 0) return;
  c->rc_max_rate = peak;
  c->rc_buffer_size = static_cast<int>(std::min<std::int64_t>(peak * 2, INT32_MAX));
  // Each segment is its own encode, starting with the buffer as full as this says; x264's default (90 %)
  // let a 2 s segment of a 240p rung capped at 1 Mb/s reach 1.44 Mb/s, half full keeps it at 1.02 (noisy
  // 640x360 source, veryfast).
  c->rc_initial_buffer_occupancy = c->rc_buffer_size / 2;
}

void set_frame_duration(AVCodecContext* c) {
  if (c->framerate.num <= 0 || c->framerate.den <= 0 || c->time_base.num <= 0) return;
  const std::int64_t ticks = av_rescale_q(1, av_inv_q(c->framerate), c->time_base);
  c->ticks_per_frame = static_cast<int>(std::clamp<std::int64_t>(ticks, 1, INT32_MAX));
}

void open_context(AVCodecContext* c, const AVCodec* codec, const std::string& what) {
  LogCapture log;
  const int ret = avcodec_open2(c, codec, nullptr);
  if (ret < 0)
    throw BackendError("cannot open " + what + ": " + (log.text().empty() ? err_text(ret) : log.text()));
}

void LavcEncoder::send(AVFrame* frame, bool force_idr) {
  AVCodecContext* c = ctx_.get();
  FramePtr surface;
  if (frame) {
    // The encoder reads width x height from every frame it is given (x264 checks only the width against the
    // line stride): a frame with fewer lines (input whose picture size changes mid-stream) would be read
    // past its end, a larger one cropped without a word.
    if (!frame->hw_frames_ctx && (frame->width != c->width || frame->height != c->height))
      throw BackendError(backend_ + ": a " + std::to_string(frame->width) + "x" +
                         std::to_string(frame->height) + " frame for a " + std::to_string(c->width) + "x" +
                         std::to_string(c->height) + " encoder (the video changes size mid-stream)");
    // Forced key frames become IDRs (forced-idr where the encoder has it), so a segment's first frame
    // and its scene cuts are random-access points. The first frame an encoder gets is its key frame
    // anyway, and is not flagged: libaom (3.6, lag-in-frames) coded a flagged first frame as a 19 KB key
    // frame with 25x the MSE of the 63 KB one it makes unflagged, then keyed the second frame too: every
    // segment paid that (BBB 640x360, cpu-used 8: 10 % fewer bytes at 0.015 dB lower PSNR than plain
    // ffmpeg; unflagged, the same PSNR to 6 digits). x264, SVT-AV1 and libvpx give the same bytes either way.
    if (!sent_frame_) force_idr = false;
    sent_frame_ = true;
    frame->pict_type = force_idr ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    frame->key_frame = force_idr ? 1 : 0;
    if (c->hw_frames_ctx && !frame->hw_frames_ctx) {
      // Software frame into a hardware surface: decoding happens on the CPU, so this copy is the
      // upload (zero-copy decode-to-encode is not wired; see README).
      surface.reset(av_frame_alloc());
      if (!surface) throw std::bad_alloc();
      int ret = av_hwframe_get_buffer(c->hw_frames_ctx, surface.get(), 0);
      if (ret >= 0) ret = av_hwframe_transfer_data(surface.get(), frame, 0);
      if (ret >= 0) ret = av_frame_copy_props(surface.get(), frame);
      if (ret < 0) throw BackendError(backend_ + ": cannot upload a frame: " + err_text(ret));
      frame = surface.get();
    }
  }
  LogCapture log;
  const int ret = avcodec_send_frame(c, frame);
  if (ret < 0 && ret != AVERROR_EOF)
    throw BackendError(backend_ + ": encoding failed: " + (log.text().empty() ? err_text(ret) : log.text()));
}

bool LavcEncoder::receive(AVPacket* packet) {
  LogCapture log;
  const int ret = avcodec_receive_packet(ctx_.get(), packet);
  if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return false;
  if (ret < 0)
    throw BackendError(backend_ + ": encoding failed: " + (log.text().empty() ? err_text(ret) : log.text()));
  return true;
}

}  // namespace pvt::hw
