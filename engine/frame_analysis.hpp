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

#include "luma_kernel.hpp"
#include "media_index.hpp"
#include "scene_detector.hpp"

namespace pvt {

struct FrameStats {
  double scene_score = 0;  // histogram difference to the previous frame (0 for the first frame)
  double spatial = 0;      // mean absolute gradient of the reduced luma plane
  double temporal = 0;     // mean absolute difference to the previous frame
  bool decoded = false;    // false when the decoder could not produce this frame
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

struct AnalysisOptions {
  int threads = 0;  // 0: one per core
  SceneDetectorOptions scenes;
  std::function<void(int frames_done)> progress;  // called from worker threads, serialised
  const std::atomic<bool>* cancel = nullptr;      // stops the analysis (Error kInterrupted) when true
};

struct Analysis {
  std::vector<FrameStats> frames;  // parallel to MediaInfo::frames
  std::vector<SceneCut> cuts;
  std::vector<SceneSummary> scenes;
  int reduced_width = 0;
  int reduced_height = 0;
  int threads = 0;
  int ranges = 0;
  double seconds = 0;  // wall time of the analysis
  std::string kernel;  // backend that computed it
};

Analysis analyze_frames(const MediaInfo& info, const AnalysisOptions& options);

// Scene summaries from cuts and per-frame stats (exposed for workers and tests).
std::vector<SceneSummary> summarize_scenes(const MediaInfo& info, const std::vector<FrameStats>& frames,
                                           const std::vector<SceneCut>& cuts);

// The kernel's view of a decoded frame's luma plane.
kernels::LumaView luma_view(const AVFrame* frame);

}  // namespace pvt
