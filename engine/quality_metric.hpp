// Target quality, the measure: per-frame scores of encoded frames against their source frames, by
// libavfilter's own metric filters (ssim, psnr, and libvmaf where the FFmpeg build has it), so the
// numbers are the ones `ffmpeg -lavfi ssim` would print.
#pragma once

#include <string>
#include <vector>

#include "av_handles.hpp"

namespace pvt {

// The metrics this FFmpeg build offers ("ssim", "psnr", and "vmaf" when libvmaf is compiled in).
std::vector<std::string> available_metrics();
bool metric_available(const std::string& metric);

class QualityMeter {
 public:
  // `log_dir`: where libvmaf writes its per-frame log (VMAF only; removed after reading).
  QualityMeter(std::string metric, std::string log_dir);
  ~QualityMeter();
  QualityMeter(const QualityMeter&) = delete;
  QualityMeter& operator=(const QualityMeter&) = delete;

  // One encoded frame (decoded again) and the frame the encoder was given, in presentation order. The
  // graph is built on the first pair, for its size and format.
  void add(const AVFrame* encoded, const AVFrame* source);
  // Flushes the graph; the per-frame scores, in order (PSNR of identical frames counts as 100 dB).
  std::vector<double> finish();

 private:
  void build(const AVFrame* f);
  void drain();

  std::string metric_;
  std::string vmaf_log_;
  av::FilterGraph graph_;
  AVFilterContext* encoded_src_ = nullptr;
  AVFilterContext* source_src_ = nullptr;
  AVFilterContext* sink_ = nullptr;
  std::int64_t next_pts_ = 0;
  std::vector<double> scores_;
};

}  // namespace pvt
