#include "encoder_probe.hpp"

#include <cstring>
#include <mutex>

#include "av_raii.hpp"
#include "hw_frames.hpp"
#include "log_capture.hpp"
#include "video_encoder.hpp"

extern "C" {
#include <libavutil/common.h>
#include <libavutil/pixdesc.h>
}

namespace pvt::hw {

namespace {

struct Candidate {
  const char* backend;
  const char* codec;
  const char* ffmpeg_encoder;
};

const Candidate kCandidates[] = {
    {"x264", "h264", "libx264"},
    {"x265", "hevc", "libx265"},
    {"svtav1", "av1", "libsvtav1"},
    {"aom", "av1", "libaom-av1"},
    {"rav1e", "av1", "librav1e"},
    {"vpx", "vp9", "libvpx-vp9"},
    {"nvenc", "h264", "h264_nvenc"},
    {"nvenc", "hevc", "hevc_nvenc"},
    {"vaapi", "h264", "h264_vaapi"},
    {"vaapi", "hevc", "hevc_vaapi"},
    {"qsv", "h264", "h264_qsv"},
    {"qsv", "hevc", "hevc_qsv"},
#ifdef __APPLE__
    {"videotoolbox", "h264", "h264_videotoolbox"},
    {"videotoolbox", "hevc", "hevc_videotoolbox"},
#endif
};

EncoderConfig probe_config(const std::string& codec, const std::string& backend) {
  EncoderConfig c;
  c.codec = codec;
  c.preset = "ultrafast";
  c.width = 256;
  c.height = 256;
  c.pix_fmt = av_get_pix_fmt(input_pix_fmt(backend));  // what the workers will hand it
  c.time_base = {1, 25};
  c.frame_rate = {25, 1};
  return c;
}

// A few grey frames through the encoder and out again: proves the session encodes, not just opens.
void encode_a_few(VideoEncoder& enc, const EncoderConfig& cfg) {
  FramePtr frame(av_frame_alloc());
  if (!frame) throw std::bad_alloc();
  frame->format = cfg.pix_fmt;
  frame->width = cfg.width;
  frame->height = cfg.height;
  if (av_frame_get_buffer(frame.get(), 0) < 0) throw std::bad_alloc();
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(cfg.pix_fmt);
  for (int p = 0; p < 4 && frame->data[p]; ++p) {
    const int rows = p == 0 ? cfg.height : AV_CEIL_RSHIFT(cfg.height, desc->log2_chroma_h);
    std::memset(frame->data[p], 128, static_cast<std::size_t>(frame->linesize[p]) * rows);
  }
  AVPacket* pkt = av_packet_alloc();
  if (!pkt) throw std::bad_alloc();
  int packets = 0;
  try {
    for (int i = 0; i < 3; ++i) {
      frame->pts = i;
      enc.send(frame.get(), i == 0);
      while (enc.receive(pkt)) ++packets, av_packet_unref(pkt);
    }
    enc.send(nullptr, false);
    while (enc.receive(pkt)) ++packets, av_packet_unref(pkt);
  } catch (...) {
    av_packet_free(&pkt);
    throw;
  }
  av_packet_free(&pkt);
  if (packets == 0) throw BackendError("the test encode produced no packets");
}

EncoderProbe probe_one(const Candidate& c) {
  EncoderProbe p{c.backend, c.codec, c.ffmpeg_encoder, is_hardware_backend(c.backend), false, 0, {}};
  if (!avcodec_find_encoder_by_name(c.ffmpeg_encoder)) {
    p.reason = std::string("encoder ") + c.ffmpeg_encoder + " is not built into this FFmpeg";
    return p;
  }
  if (p.backend == "vaapi" && render_nodes().empty()) {
    p.reason = "no /dev/dri/renderD* device node";
    return p;
  }
  const EncoderConfig cfg = probe_config(c.codec, c.backend);
  LogCapture quiet;  // failed opens log errors that belong in reason, not on the terminal
  std::vector<std::unique_ptr<VideoEncoder>> held;
  try {
    held.push_back(open_encoder(c.backend, cfg));
    encode_a_few(*held.back(), cfg);
  } catch (const std::exception& e) {
    p.reason = e.what();
    return p;
  }
  p.usable = true;
  if (!p.hardware) return p;
  // Sessions: hold them open together until one is refused or the cap is reached.
  while (static_cast<int>(held.size()) < kSessionProbeCap) {
    try {
      held.push_back(open_encoder(c.backend, cfg));
    } catch (const std::exception& e) {
      p.reason = "session " + std::to_string(held.size() + 1) + " refused: " + e.what();
      break;
    }
  }
  p.sessions = static_cast<int>(held.size());
  return p;
}

}  // namespace

const std::vector<EncoderProbe>& probe_encoders() {
  static std::once_flag once;
  static std::vector<EncoderProbe> probes;
  std::call_once(once, [] {
    for (const auto& c : kCandidates) probes.push_back(probe_one(c));
    if (const int n = pretend_hw_sessions(); n > 0)
      for (const char* codec : {"h264", "hevc"})
        probes.push_back({"pretend", codec, "(x264/x265)", true, true, n,
                          "test hook PVT_PRETEND_HW_SESSIONS: x264/x265 scheduled as hardware sessions"});
  });
  return probes;
}

const EncoderProbe* find_usable(const std::vector<EncoderProbe>& probes, const std::string& backend,
                                const std::string& codec) {
  for (const auto& p : probes)
    if (p.backend == backend && p.codec == codec && p.usable) return &p;
  return nullptr;
}

}  // namespace pvt::hw
