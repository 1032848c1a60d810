#include "scene_detector.hpp"

namespace pvt {

SceneDetector::SceneDetector(SceneDetectorOptions options, int first_frame)
    : options_(options), last_cut_(first_frame) {}

std::optional<SceneCut> SceneDetector::push(int frame, double score) {
  std::optional<SceneCut> decided;
  if (pending_ && frame - pending_->frame >= options_.min_scene_frames) {
    decided = pending_;
    last_cut_ = pending_->frame;
    pending_.reset();
  }
  if (score >= options_.threshold && frame - last_cut_ >= options_.min_scene_frames) {
    if (!pending_ || score > pending_->score) pending_ = SceneCut{frame, score};
  }
  return decided;
}

std::optional<SceneCut> SceneDetector::finish() {
  auto p = pending_;
  pending_.reset();
  return p;
}

std::vector<SceneCut> detect_scene_cuts(const std::vector<double>& scores, SceneDetectorOptions options) {
  std::vector<SceneCut> cuts;
  SceneDetector det(options, 0);
  for (std::size_t i = 1; i < scores.size(); ++i)
    if (auto c = det.push(static_cast<int>(i), scores[i])) cuts.push_back(*c);
  if (auto c = det.finish()) cuts.push_back(*c);
  return cuts;
}

}  // namespace pvt
