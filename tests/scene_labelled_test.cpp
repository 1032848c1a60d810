// Scene detection against the labelled set (scene_set.hpp): hard cuts (including joins of two moments of
// one shot and two poses before one wall), dissolves and fades found with their kind, nothing cut in
// flashes, strobes, light changes and motion; the same cuts from a worker's look-ahead window and from
// every analysis backend this machine has.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "frame_analysis.hpp"
#include "kernel_factory.hpp"
#include "media_index.hpp"
#include "scene_set.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

std::vector<int> frames_of(const std::vector<SceneCut>& cuts) {
  std::vector<int> f;
  for (const auto& c : cuts) f.push_back(c.frame);
  return f;
}

test::LabelKind label_of(CutKind k) {
  return k == CutKind::kHard   ? test::LabelKind::kHard
         : k == CutKind::kFade ? test::LabelKind::kFade
                               : test::LabelKind::kDissolve;
}

std::string describe(const test::LabelledClip& clip, const Analysis& a) {
  std::string s = clip.name + ": labels";
  for (const auto& l : clip.labels)
    s += " " + std::string(test::label_kind_name(l.kind)) + "@" + std::to_string(l.start) + "-" +
         std::to_string(l.end);
  s += "; cuts";
  for (const auto& c : a.cuts)
    s += " " + std::string(cut_kind_name(c.kind)) + "@" + std::to_string(c.frame) + "(" +
         std::to_string(c.start_frame) + "-" + std::to_string(c.end_frame) + ")";
  return s;
}

const std::vector<std::pair<const test::LabelledClip*, Analysis>>& analysed_set() {
  static const auto all = [] {
    std::vector<std::pair<const test::LabelledClip*, Analysis>> out;
    for (const auto& clip : test::labelled_scene_set())
      out.emplace_back(&clip, analyze_frames(probe_media(clip.path), {}));
    return out;
  }();
  return all;
}

TEST(SceneLabelledSet, EveryLabelledCutIsFoundWithItsKindAndNothingElseIsCut) {
  if (test::shared_clips_missing())
    std::printf("note: the shared clips are absent; only the generated part of the set runs\n");
  std::map<test::LabelKind, test::SceneScore> per_kind;
  int false_cuts = 0, wrong_kind = 0, matched = 0;
  for (const auto& [clip, a] : analysed_set()) {
    std::printf("%s\n", describe(*clip, a).c_str());
    for (auto kind : {test::LabelKind::kHard, test::LabelKind::kDissolve, test::LabelKind::kFade}) {
      const auto s = test::score_cuts(*clip, frames_of(a.cuts), &kind);
      per_kind[kind].labels += s.labels;
      per_kind[kind].found += s.found;
    }
    const auto all = test::score_cuts(*clip, frames_of(a.cuts));
    false_cuts += all.false_cuts;
    EXPECT_EQ(all.false_cuts, 0) << describe(*clip, a);
    // A cut that finds a label reports that label's kind.
    for (const auto& c : a.cuts)
      for (const auto& l : clip->labels)
        if (test::score_cuts({clip->name, clip->path, clip->frames, {l}}, {c.frame}).found) {
          ++matched;
          if (label_of(c.kind) == l.kind) continue;
          ++wrong_kind;
          std::printf("%s: the cut at %d is %s, labelled %s\n", clip->name.c_str(), c.frame,
                      cut_kind_name(c.kind), test::label_kind_name(l.kind));
        }
  }
  for (const auto& [kind, s] : per_kind) {
    std::printf("%-8s found %d of %d\n", test::label_kind_name(kind), s.found, s.labels);
    // Every one, the pose change before one wall in the shared clips (book.mkv) included: its pixels
    // change by 2.4 levels on average, less than coding noise at a source's keyframe, but 0.94 % of them
    // change strongly against 0.03 % around it (the local-replacement rule).
    EXPECT_EQ(s.found, s.labels) << test::label_kind_name(kind);
  }
  std::printf("false cuts %d, wrong kinds %d of %d\n", false_cuts, wrong_kind, matched);
  // The kind is the report's; the cut's frame (where the keyframe goes) is what the plan uses. A short
  // dissolve out of a still shot can end in a step big enough to look like a cut.
  EXPECT_LE(wrong_kind * 10, matched) << "at least 90 % of the cuts found report their label's kind";
}

// Camera footage of one shot each (a street camera at 12.5 fps, the same with every 5th frame dropped,
// a person signing before a wall): motion, cars entering and leaving, source keyframes, no cut.
TEST(SceneLabelledSet, SingleShotCameraFootageIsNotCut) {
  int clips = 0;
  for (const std::string name : {"car-detection.mp4", "car_vfr.mp4", "book.mkv"}) {
    const auto path = test::shared_clip(name);
    if (!path) {
      std::printf("note: %s is absent (shared media); skipped\n", name.c_str());
      continue;
    }
    ++clips;
    EXPECT_EQ(frames_of(analyze_frames(probe_media(*path), {}).cuts), std::vector<int>{}) << name;
  }
  if (!clips) GTEST_SKIP() << "the shared media are absent";
}

// The first minute of Big Buck Bunny: a fade in from black and five hard cuts; its encoder also put
// periodic keyframes at 250, 768 and 1018, whose coding noise (a small change everywhere, about 1 % of the
// samples changing strongly at 640 wide) is no cut.
TEST(SceneLabelledSet, AnimationsCutsAndNotItsPeriodicKeyframes) {
  const auto path = test::shared_clip("big_buck_bunny.mp4");
  if (!path) GTEST_SKIP() << "big_buck_bunny.mp4 is absent (shared media)";
  test::LabelledClip bbb{"big_buck_bunny", *path, 1440, {{test::LabelKind::kFade, 1, 23}}};
  for (int f : {285, 378, 553, 1145, 1346}) bbb.labels.push_back({test::LabelKind::kHard, f, f});
  const Analysis a = analyze_frames(probe_media(*path), {});
  const auto s = test::score_cuts(bbb, frames_of(a.cuts));
  EXPECT_EQ(s.found, s.labels) << describe(bbb, a);
  EXPECT_EQ(s.false_cuts, 0) << describe(bbb, a);
}

TEST(SceneLabelledSet, TransitionsReportASpanAroundTheirCut) {
  for (const auto& [clip, a] : analysed_set())
    for (const auto& c : a.cuts) {
      EXPECT_LE(c.start_frame, c.frame) << clip->name;
      EXPECT_GE(c.end_frame, c.frame) << clip->name;
      if (c.kind == CutKind::kHard) {
        EXPECT_EQ(c.start_frame, c.frame);
        EXPECT_EQ(c.end_frame, c.frame);
      } else {
        EXPECT_GE(c.end_frame - c.start_frame, 5)
            << clip->name << " " << cut_kind_name(c.kind) << "@" << c.frame;
      }
    }
}

// A worker's look-ahead (--analysis index, the default without a GPU) forces a keyframe at each cut it
// detects: away from the segments' starts (where a worker has not yet seen the frames a decision looks
// back on) those are the full analysis' cuts exactly.
TEST(SceneLabelledSet, AWorkersLookAheadFindsTheSameCuts) {
  constexpr int kEdge = 24;  // frames after a segment start that a worker judges without history
  test::TempDir dir;
  int compared = 0;
  for (const auto& [clip, a] : analysed_set()) {
    if (clip->labels.empty()) continue;  // the clips with cuts (the others are checked for none above)
    const std::string out = dir / (clip->name + ".mp4");
    const auto r = test::run_pvt({"transcode", clip->path, "-o", out, "--analysis", "index", "--preset",
                                  "ultrafast", "--segment-duration", "6", "--progress", "none", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto summary = nlohmann::json::parse(r.out);
    std::vector<int> starts, worker;
    for (const auto& seg : summary.at("segments")) {
      starts.push_back(seg.at("start_frame").get<int>());
      for (int f : seg.at("cut_frames").get<std::vector<int>>()) worker.push_back(f);
    }
    // A cut is judged without history when it, or the transition that ends in it (a dissolve spans up to
    // 48 frames), begins less than kEdge frames after a segment start.
    const auto span_start = [&](int f) {
      for (const auto& c : a.cuts)
        if (c.frame == f) return std::min(c.start_frame, f);
      return f;
    };
    const auto away = [&](const std::vector<int>& cuts) {
      std::vector<int> kept;
      for (int f : cuts)
        if (std::none_of(starts.begin(), starts.end(),
                         [&](int s) { return f >= s && span_start(f) < s + kEdge; }))
          kept.push_back(f);
      return kept;
    };
    EXPECT_EQ(away(worker), away(frames_of(a.cuts))) << describe(*clip, a);
    compared += static_cast<int>(away(frames_of(a.cuts)).size());
    // ... and the encoder put a keyframe at each cut the workers found.
    const auto keys = test::ffprobe_keyframes(out);
    for (int f : worker) {
      ASSERT_LT(f, static_cast<int>(keys.size()));
      EXPECT_TRUE(keys[f]) << clip->name << ": no keyframe at the cut at " << f;
    }
  }
  EXPECT_GE(compared, 8) << "enough cuts away from segment starts to compare";
}

TEST(SceneLabelledSet, EveryAnalysisBackendCutsTheSame) {
  for (const auto kind : {kernels::BackendKind::kVulkan, kernels::BackendKind::kCuda}) {
    const std::string backend = kernels::backend_name(kind);
    const kernels::BackendProbe probe = kernels::probe_backend(kind);
    if (!probe.usable) {
      std::printf("note: the %s analysis backend is not usable here (%s); skipped\n", backend.c_str(),
                  probe.reason.c_str());
      continue;
    }
    for (const auto& [clip, a] : analysed_set()) {
      AnalysisOptions o;
      o.backend = backend;
      const Analysis b = analyze_frames(probe_media(clip->path), o);
      EXPECT_EQ(b.kernel, backend) << clip->name;
      EXPECT_EQ(frames_of(b.cuts), frames_of(a.cuts)) << backend << " on " << clip->name;
    }
  }
}

}  // namespace
}  // namespace pvt
