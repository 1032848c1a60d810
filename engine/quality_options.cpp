#include "quality_options.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "error.hpp"
#include "quality_metric.hpp"

namespace pvt {

namespace {

constexpr double kDefaultCrfLo = 10, kDefaultCrfHi = 40;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/pvt/quality-probes";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/pvt/quality-probes";
  return {};
}

}  // namespace

double quality_tolerance(const TranscodeOptions::Quality& q) {
  if (q.tolerance >= 0) return q.tolerance;
  return q.metric == "psnr" ? 0.2 : q.metric == "vmaf" ? 1.0 : 0.002;
}

void check_quality_options(const TranscodeOptions& o) {
  const auto& q = o.quality;
  if (q.target <= 0) return;
  if (o.bitrate > 0) throw Error(ErrorCode::kUsage, "--target-quality and --bitrate exclude each other");
  if (q.metric != "ssim" && q.metric != "psnr" && q.metric != "vmaf")
    throw Error(ErrorCode::kUsage, "--metric must be ssim, psnr or vmaf");
  if (!metric_available(q.metric))
    throw Error(ErrorCode::kUsage, "--metric " + q.metric + ": this FFmpeg build has no lib" + q.metric +
                                       " filter; it offers " + join(available_metrics()));
  if (q.metric == "ssim" && q.target >= 1)
    throw Error(ErrorCode::kUsage, "--target-quality for ssim must be between 0 and 1 (e.g. 0.98)");
  if ((q.metric == "psnr" && (q.target < 10 || q.target > 100)) || (q.metric == "vmaf" && q.target > 100))
    throw Error(ErrorCode::kUsage, "--target-quality for " + q.metric + " must be between " +
                                       (q.metric == "psnr" ? "10 and 100 dB" : "0 and 100"));
  if (q.pool != "mean" && q.pool != "p5" && q.pool != "min")
    throw Error(ErrorCode::kUsage, "--quality-pool must be mean, p5 or min");
  const double lo = q.crf_lo < 0 ? kDefaultCrfLo : q.crf_lo, hi = q.crf_hi < 0 ? kDefaultCrfHi : q.crf_hi;
  if (lo < 0 || hi > 51 || lo >= hi)
    throw Error(ErrorCode::kUsage, "--crf-range must be LO-HI with 0 <= LO < HI <= 51");
  if (q.max_probes < 1 || q.max_probes > 10)
    throw Error(ErrorCode::kUsage, "--max-probes must be between 1 and 10");
  if ((q.tolerance <= 0 && q.tolerance != -1) || q.tolerance > 10)
    throw Error(ErrorCode::kUsage, "--quality-tolerance must be positive and at most 10");
  if (q.max_reencodes < 0 || q.max_reencodes > 5)
    throw Error(ErrorCode::kUsage, "--max-reencodes must be between 0 and 5");
}

QualityTarget quality_target(const TranscodeOptions& o, const InputFingerprint& input, int start_frame,
                             int end_frame) {
  QualityTarget t;
  const auto& q = o.quality;
  if (q.target <= 0) return t;
  t.metric = q.metric;
  t.target = q.target;
  t.pool = q.pool;
  t.crf_lo = q.crf_lo < 0 ? kDefaultCrfLo : q.crf_lo;
  t.crf_hi = q.crf_hi < 0 ? kDefaultCrfHi : q.crf_hi;
  t.max_probes = q.max_probes;
  t.tolerance = quality_tolerance(q);
  t.max_reencodes = q.max_reencodes;
  const std::string dir = q.no_probe_cache ? "" : q.probe_cache.empty() ? default_cache_dir() : q.probe_cache;
  if (!dir.empty()) {
    // One file per input and frame range; the worker checks the key inside against its settings.
    const std::string id = input.path + "|" + std::to_string(input.size) + "|" +
                           std::to_string(input.mtime_ns) + "|" + input.sample_sha256 + "|" +
                           std::to_string(start_frame) + "-" + std::to_string(end_frame);
    char name[40];
    std::snprintf(name, sizeof name, "%016zx.json", std::hash<std::string>{}(id));
    t.cache = (std::filesystem::path(dir) / name).string();
  }
  return t;
}

}  // namespace pvt
