// One interface for every video encoder pvt drives: x264/x265, SVT-AV1, libaom, rav1e and libvpx (VP9) on
// the CPU (x264 is the floor) and
// NVENC, VAAPI, QSV and (macOS builds) VideoToolbox. Backends depend on FFmpeg only, never on the engine.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace pvt::hw {

class BackendError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EncoderConfig {
  std::string codec = "h264";
  std::string preset = "medium";
  double crf = 23;           // constant quality when bitrate == 0 (hardware encoders round it)
  std::int64_t bitrate = 0;  // average bits/s
  // With crf: the peak bits/s (a VBV cap: maxrate, and a buffer of two seconds of it), as a streaming
  // ladder's rungs have; 0: uncapped. x264 and x265 take it; other encoders encode uncapped.
  std::int64_t max_bitrate = 0;
  int threads = 1;
  int lookahead = -1;  // frames of the encoder's own rate-control look-ahead; -1: its default
  int width = 0;
  int height = 0;
  AVPixelFormat pix_fmt = AV_PIX_FMT_YUV420P;
  AVRational time_base{1, 25};
  AVRational frame_rate{25, 1};
  AVRational sample_aspect_ratio{0, 1};
  AVColorRange color_range = AVCOL_RANGE_UNSPECIFIED;
  AVColorPrimaries color_primaries = AVCOL_PRI_UNSPECIFIED;
  AVColorTransferCharacteristic color_trc = AVCOL_TRC_UNSPECIFIED;
  AVColorSpace colorspace = AVCOL_SPC_UNSPECIFIED;
  AVChromaLocation chroma_location = AVCHROMA_LOC_UNSPECIFIED;
  // HDR10 static metadata for the stream's SEI (FFmpeg 5.1's wrappers pass none of the frames' side data):
  // mastering display as x265/x264 write it, G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min), and "MaxCLL,MaxFALL".
  std::string master_display;
  std::string max_cll;
};

class VideoEncoder {
 public:
  virtual ~VideoEncoder() = default;
  virtual const char* backend() const = 0;
  virtual const AVCodecContext* context() const = 0;
  // Queues a frame (timestamps in config.time_base); force_idr makes it an IDR frame.
  // nullptr starts the flush.
  virtual void send(AVFrame* frame, bool force_idr) = 0;
  // Next encoded packet, false when the encoder needs more input (or is fully drained after a flush).
  virtual bool receive(AVPacket* packet) = 0;
};

// x264 through libavcodec. Every segment is a closed, self-contained stream: it starts with an IDR and
// repeats its SPS/PPS in-band, so segments concatenate by stream copy.
std::unique_ptr<VideoEncoder> open_x264_encoder(const EncoderConfig& config);

std::unique_ptr<VideoEncoder> open_x265_encoder(const EncoderConfig& config);    // hevc on the CPU
std::unique_ptr<VideoEncoder> open_svtav1_encoder(const EncoderConfig& config);  // av1 on the CPU (default)
std::unique_ptr<VideoEncoder> open_aom_encoder(const EncoderConfig& config);     // av1, libaom
std::unique_ptr<VideoEncoder> open_rav1e_encoder(const EncoderConfig& config);   // av1, rav1e
std::unique_ptr<VideoEncoder> open_vpx_encoder(const EncoderConfig& config);     // vp9, libvpx
std::unique_ptr<VideoEncoder> open_nvenc_encoder(const EncoderConfig& config);   // h264_nvenc / hevc_nvenc
std::unique_ptr<VideoEncoder> open_vaapi_encoder(const EncoderConfig& config);   // h264_vaapi / hevc_vaapi
std::unique_ptr<VideoEncoder> open_qsv_encoder(const EncoderConfig& config);     // h264_qsv / hevc_qsv
#ifdef __APPLE__
std::unique_ptr<VideoEncoder> open_videotoolbox_encoder(const EncoderConfig& config);
#endif

// Sessions of the pretend hardware backend (PVT_PRETEND_HW_SESSIONS, a test hook); 0 when unset.
int pretend_hw_sessions();

// The encoder for a backend name ("x264", "x265", "nvenc", "vaapi", "qsv", "videotoolbox" on macOS,
// "pretend" under the PVT_PRETEND_HW_SESSIONS test hook). Throws BackendError naming what is missing.
std::unique_ptr<VideoEncoder> open_encoder(const std::string& backend, const EncoderConfig& config);

// True for backends that run on a device with a limited number of sessions (not the CPU encoders).
bool is_hardware_backend(const std::string& backend);

// True for the encoders that run on the CPU: x264, x265, svtav1, aom, rav1e, vpx.
bool is_cpu_backend(const std::string& backend);

// The pixel format a backend takes its frames in: NV12 for the hardware encoders (their surface format),
// planar 4:2:0 for x264/x265 (and the pretend test backend, which is x264/x265 underneath).
const char* input_pix_fmt(const std::string& backend);

// The codec a CPU encoder makes (x265 hevc; svtav1, aom, rav1e av1; vpx vp9; x264 h264); empty for others.
std::string codec_of_cpu_backend(const std::string& backend);

// The CPU backend for a codec: x264 for h264, x265 for hevc, svtav1 for av1, vpx for vp9.
std::string cpu_backend_for(const std::string& codec);

}  // namespace pvt::hw
