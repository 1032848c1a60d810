// Scene-cut decisions from per-frame scene signals (scene_signal.hpp), shared by `pvt analyze` (over a
// whole file) and by workers (over their look-ahead window), so both cut the same way.
//
// Three kinds of cut, each judged on the frames around it:
// - hard: the histogram jumps (score >= threshold) and not only by a brightness shift, or the pixels
//   change far more than in the frames around (excess difference >= adaptive_ratio times its
//   neighbourhood's mean, and at least min_excess), which finds cuts between two shots of one place where
//   the histogram hardly moves (min_excess stays above the coding noise at a source's keyframes), or a
//   part of the picture is replaced at once: many times more samples change strongly (by more than
//   kernels::kStrongChange levels) than in the frames around, the next frame does not undo it, and the
//   pixels change more than around it (a jump cut between two poses before one wall). A jump whose
//   picture comes back within a few frames is a flash, not a cut.
// - fade: a run of black (or white) frames; the cut is the first frame after it, the span runs from the
//   start of the fade-out to the end of the fade-in. A video that starts or ends in black is not cut.
// - dissolve: a run of small steady changes (twin comparison) whose end differs from its start as much as
//   a cut; the cut is the run's last frame, where the new shot stands alone. Longer runs are motion.
// Candidates closer than `min_scene_frames` to each other compete (the strongest wins, a transition over
// a hard candidate inside it); a candidate closer than that to the last cut (or the start) is dropped.
// Decisions are final decision_delay() frames after the candidate: a streaming caller needs that much
// look-ahead.
#pragma once

#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "scene_signal.hpp"

namespace pvt {

struct SceneDetectorOptions {
  double threshold = 0.35;      // see README: hard cuts score 0.4-1.0, motion and fades rarely pass 0.2
  int min_scene_frames = 12;    // half a second at 24 fps: shorter "scenes" are flashes or strobes
  double adaptive_ratio = 3.0;  // a frame's excess difference against its neighbours' mean, for a cut
  double min_excess = 12.0;     // ... and at least this many luma levels per sample (above coding noise)
  bool gradual = true;          // look for fades and dissolves
};

enum class CutKind { kHard, kFade, kDissolve };
const char* cut_kind_name(CutKind kind);

struct SceneCut {
  int frame = 0;     // first frame of the new scene (a keyframe goes here)
  double score = 0;  // histogram difference across the cut (for a transition: from before it to after)
  CutKind kind = CutKind::kHard;
  int start_frame = 0;  // the transition's first frame (= frame for a hard cut)
  int end_frame = 0;    // its last frame (= frame for a hard cut)
};

class SceneDetector {
 public:
  explicit SceneDetector(SceneDetectorOptions options, int first_frame = 0);

  // Feed the next frame's signal (frames in order; a gap counts as frames not decoded). Returns the cuts
  // that became final.
  std::vector<SceneCut> push(const SceneSignal& signal);
  // End of input: the cuts still pending.
  std::vector<SceneCut> finish();

  int decision_delay() const;

 private:
  struct Dissolve {
    kernels::Histogram before{};  // the frame before the run
    int start = 0;
    int last_active = 0;     // the last frame whose change passed the low threshold
    double sum = 0;          // the per-frame histogram differences added up
    double excess_sum = 0;   // and the excess differences
    double low = 0;          // the change a frame needs to continue the run
    double base_excess = 0;  // the mean excess difference before the run
  };
  struct Baseline {
    double change = 0;  // mean histogram difference
    double excess = 0;  // mean excess difference
  };
  struct Dark {
    int start = 0;  // first black (or white) frame
    bool black = true;
  };
  struct FadeIn {
    int last = 0;  // its last frame so far
    bool from_black = true;
  };

  const SceneSignal* at(int frame) const;
  void evaluate(int frame, std::vector<SceneCut>& decided);
  bool is_hard_cut(const SceneSignal& s) const;
  bool is_flash(int frame) const;
  std::pair<double, int> excess_of(int frame, int a, int b) const;
  double neighbourhood_excess(int frame) const;
  double quieter_side_excess(int frame) const;
  bool is_local_replacement(const SceneSignal& s) const;
  void track_fade(const SceneSignal& s);
  void track_fade_in(const SceneSignal& s);
  int fade_out_start(int first_dark) const;
  void track_dissolve(const SceneSignal& s, bool hard);
  void close_dissolve();
  void add_to_dissolve(const SceneSignal& s);
  bool dissolve_changed_enough() const;
  std::optional<Baseline> baseline(int frame) const;
  void offer(const SceneCut& cut);

  SceneDetectorOptions options_;
  int first_frame_;
  int last_cut_;
  int next_evaluated_;
  std::deque<SceneSignal> history_;
  std::optional<SceneCut> pending_;
  std::optional<Dissolve> dissolve_;
  std::optional<Dark> dark_;
  std::optional<FadeIn> fade_in_;
};

// Runs a detector over a whole file's signals (signals[i].frame == i; frame 0 is never a cut).
std::vector<SceneCut> detect_scene_cuts(const std::vector<SceneSignal>& signals,
                                        SceneDetectorOptions options);

// The signals of a whole file from its measurements (decoded[i] false: frame i has none).
std::vector<SceneSignal> scene_signals(const std::vector<kernels::FrameMeasure>& measures,
                                       const std::vector<bool>& decoded);

}  // namespace pvt
