// Per-frame analysis of a whole file: decode at full size (loop filter skipped), reduce the luma plane,
// run the analysis kernel. Runs in parallel over keyframe ranges so it uses every core.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/frame.h>
}

#include "luma_analyzer.hpp"
#include "luma_kernel.hpp"
#include "media_index.hpp"
#include "scene_detector.hpp"

namespace pvt {

struct FrameStats {
  double scene_score = 0;  // histogram difference to the previous frame (0 for the first frame)
  double spatial = 0;      // mean absolute gradient of the reduced luma plane
  double temporal = 0;     // mean absolute difference to the previous frame
  double mean_luma = 0;    // the scene detector's signals (scene_signal.hpp)
  double shifted_score = 0;
  double excess_difference = 0;
  double strong_change = 0;
  bool decoded = false;  // false when the decoder could not produce this frame
};

struct SceneSummary {
  int start_frame = 0;
  int end_frame = 0;  // exclusive
  double start_s = 0;
  double duration_s = 0;
  double cut_score = 0;  // score of the cut that opens the scene (0 for the first scene)
  double mean_spatial = 0;
  double mean_temporal = 0;
};

struct AnalysisEngine;

struct AnalysisOptions {
  int threads = 0;  // 0: one per core
  SceneDetectorOptions scenes;
  std::function<void(int frames_done)> progress;  // called from worker threads, serialised
  const std::atomic<bool>* cancel = nullptr;      // stops the analysis (Error kInterrupted) when true
  std::string backend = "auto";                   // --analysis-backend: auto, cpu, cuda, vulkan
  bool fast_decode = true;  // software decoding skips the loop filter (NVDEC always decodes exactly)
  const AnalysisEngine* engine = nullptr;  // an engine already opened (transcode's); null: open `backend`
  std::function<void(const std::string&)> warn;  // one line, at most once: a GPU falling back to the CPU
};

struct Analysis {
  std::vector<FrameStats> frames;  // parallel to MediaInfo::frames
  std::vector<SceneCut> cuts;
  std::vector<SceneSummary> scenes;
  int reduced_width = 0;
  int reduced_height = 0;
  int threads = 0;
  int ranges = 0;
  double seconds = 0;    // wall time of the analysis
  std::string kernel;    // backend that computed it ("cpu" when a GPU fell back before the end)
  std::string decoder;   // "cpu", "nvdec", or "nvdec+cpu" (some ranges decoded again after a GPU failure)
  std::string fallback;  // why the GPU backend asked for was not used throughout; empty when it was
};

Analysis analyze_frames(const MediaInfo& info, const AnalysisOptions& options);

// Scene summaries from cuts and per-frame stats (exposed for workers and tests).
std::vector<SceneSummary> summarize_scenes(const MediaInfo& info, const std::vector<FrameStats>& frames,
                                           const std::vector<SceneCut>& cuts);

// The kernel's view of a decoded frame's luma plane (host memory only).
kernels::LumaView luma_view(const AVFrame* frame);

// A decoded frame as an analyzer takes it: host planes, or the luma plane of an NVDEC surface
// (AV_PIX_FMT_CUDA) in place. With `hold`, the frame is referenced until the analyzer lets go of it.
kernels::AnalysisFrame analysis_frame(const AVFrame* frame, bool hold);

}  // namespace pvt
