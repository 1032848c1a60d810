// The labelled scene-detection set: clips made with ffmpeg from generated material and the shared clips,
// joined at known frames, with dissolves and fades of known span (xfade), and clips whose flashes, strobes,
// light changes and motion must not be cut. Each label says where a person would mark a cut.
#pragma once

#include <string>
#include <vector>

namespace pvt::test {

enum class LabelKind { kHard, kDissolve, kFade };
const char* label_kind_name(LabelKind kind);

struct SceneLabel {
  LabelKind kind = LabelKind::kHard;
  int start = 0;  // hard: the first frame of the new shot; a transition: its first frame
  int end = 0;    // hard: = start; a transition: the first frame of the new shot alone
};

struct LabelledClip {
  std::string name;
  std::string path;  // empty when the clip needs the shared media and they are absent
  int frames = 0;
  std::vector<SceneLabel> labels;  // none: nothing in this clip is a cut
};

// Every clip of the set: made once in the build folder's test-cache/scene-set (or PVT_SCENE_SET_DIR) and
// reused by later test processes while each clip's recipe is unchanged. Clips made from the shared
// media are left out when the media are absent (shared_clips_missing() says so).
const std::vector<LabelledClip>& labelled_scene_set();
bool shared_clips_missing();

// How a list of detected cuts (first frames of new scenes) scores against a clip's labels: a hard label
// is found by a cut within 1 frame of it, a transition by a cut within its span (2 frames of slack).
struct SceneScore {
  int labels = 0, found = 0;  // per kind when filtered
  int detected = 0, false_cuts = 0;
};
SceneScore score_cuts(const LabelledClip& clip, const std::vector<int>& cuts,
                      const LabelKind* only = nullptr);

}  // namespace pvt::test
