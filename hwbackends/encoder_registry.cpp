// Backend names to encoders: the one place that knows which backends exist on this build.
#include <algorithm>
#include <cstdlib>

#include "video_encoder.hpp"

namespace pvt::hw {

namespace {

// The PVT_PRETEND_HW_SESSIONS test hook: a "hardware" backend that encodes with x264 but is scheduled
// as a hardware session, so CI without a GPU can prove the hardware slot, fault and fallback paths.
class PretendEncoder final : public VideoEncoder {
 public:
  explicit PretendEncoder(std::unique_ptr<VideoEncoder> inner) : inner_(std::move(inner)) {}
  const char* backend() const override { return "pretend"; }
  const AVCodecContext* context() const override { return inner_->context(); }
  void send(AVFrame* frame, bool force_idr) override { inner_->send(frame, force_idr); }
  bool receive(AVPacket* packet) override { return inner_->receive(packet); }

 private:
  std::unique_ptr<VideoEncoder> inner_;
};

}  // namespace

int pretend_hw_sessions() {
  const char* v = std::getenv("PVT_PRETEND_HW_SESSIONS");
  return v ? std::max(0, std::atoi(v)) : 0;
}

std::string cpu_backend_for(const std::string& codec) {
  if (codec == "hevc") return "x265";
  if (codec == "av1") return "svtav1";
  if (codec == "vp9") return "vpx";
  return "x264";
}

std::string codec_of_cpu_backend(const std::string& backend) {
  if (backend == "x264") return "h264";
  if (backend == "x265") return "hevc";
  if (backend == "svtav1" || backend == "aom" || backend == "rav1e") return "av1";
  if (backend == "vpx") return "vp9";
  return {};
}

bool is_cpu_backend(const std::string& backend) {
  return backend == "x264" || backend == "x265" || backend == "svtav1" || backend == "aom" ||
         backend == "rav1e" || backend == "vpx";
}

bool is_hardware_backend(const std::string& backend) {
  return !is_cpu_backend(backend) && backend != "auto";
}

const char* input_pix_fmt(const std::string& backend) {
  return is_hardware_backend(backend) && backend != "pretend" ? "nv12" : "yuv420p";
}

std::unique_ptr<VideoEncoder> open_encoder(const std::string& backend, const EncoderConfig& config) {
  if (backend == "auto") return open_encoder(cpu_backend_for(config.codec), config);
  if (backend == "x264")
    return config.codec == "hevc" ? open_x265_encoder(config) : open_x264_encoder(config);
  if (backend == "x265") return open_x265_encoder(config);
  if (backend == "svtav1") return open_svtav1_encoder(config);
  if (backend == "aom") return open_aom_encoder(config);
  if (backend == "rav1e") return open_rav1e_encoder(config);
  if (backend == "vpx") return open_vpx_encoder(config);
  if (backend == "nvenc") return open_nvenc_encoder(config);
  if (backend == "vaapi") return open_vaapi_encoder(config);
  if (backend == "qsv") return open_qsv_encoder(config);
#ifdef __APPLE__
  if (backend == "videotoolbox") return open_videotoolbox_encoder(config);
#endif
  if (backend == "pretend" && pretend_hw_sessions() > 0) {
    EncoderConfig cpu = config;
    return std::make_unique<PretendEncoder>(open_encoder(cpu_backend_for(config.codec), cpu));
  }
  throw BackendError("encoder backend '" + backend + "' is not built into pvt on this platform");
}

}  // namespace pvt::hw
