// Scene-cut decisions from per-frame scene scores, shared by `pvt analyze` (over a whole file) and by
// workers (over their look-ahead window), so both cut the same way.
//
// A frame is a candidate cut when its score (histogram difference to the previous frame, 0..1) reaches
// `threshold`. Candidates closer than `min_scene_frames` to each other compete and the strongest wins;
// a candidate closer than that to the last accepted cut (or to the start) is dropped. Decisions are
// final `min_scene_frames` frames after the candidate, so a streaming caller needs that much look-ahead.
#pragma once

#include <optional>
#include <vector>

namespace pvt {

struct SceneDetectorOptions {
  double threshold = 0.35;    // see README: hard cuts score 0.4-1.0, motion and fades rarely pass 0.2
  int min_scene_frames = 12;  // half a second at 24 fps: shorter "scenes" are flashes or strobes
};

struct SceneCut {
  int frame = 0;  // first frame of the new scene
  double score = 0;
};

class SceneDetector {
 public:
  explicit SceneDetector(SceneDetectorOptions options, int first_frame = 0);

  // Feed frame `frame`'s score (frames in order). Returns a cut when one becomes final.
  std::optional<SceneCut> push(int frame, double score);
  // End of input: returns the pending cut, if any.
  std::optional<SceneCut> finish();

  int decision_delay() const { return options_.min_scene_frames; }

 private:
  SceneDetectorOptions options_;
  int last_cut_;
  std::optional<SceneCut> pending_;
};

// Runs a detector over a whole score sequence (scores[0] is the first frame and never a cut).
std::vector<SceneCut> detect_scene_cuts(const std::vector<double>& scores, SceneDetectorOptions options);

}  // namespace pvt
