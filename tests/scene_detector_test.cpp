// The scene detector's rules on synthetic signals: frames described by a histogram (a mix of a few
// "pictures") and a mean absolute difference to the previous frame.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>

#include "scene_detector.hpp"

namespace pvt {
namespace {

constexpr std::uint32_t kPixels = 64 * 1000;

// A histogram with all its samples spread evenly over bins [from, from + width).
kernels::Histogram band(int from, int width) {
  kernels::Histogram h{};
  for (int i = from; i < from + width; ++i) h[i] = kPixels / width;
  return h;
}

// (1 - t) a + t b, bin by bin: what a dissolve does to the histogram, roughly.
kernels::Histogram mix(const kernels::Histogram& a, const kernels::Histogram& b, double t) {
  kernels::Histogram h{};
  for (int i = 0; i < kernels::kHistogramBins; ++i)
    h[i] = static_cast<std::uint32_t>(std::lround((1 - t) * a[i] + t * b[i]));
  return h;
}

struct Clip {
  std::vector<kernels::Histogram> hist;
  std::vector<double> mad;     // per frame, to the previous one
  std::vector<double> strong;  // the fraction of samples that changed strongly

  void add(const kernels::Histogram& h, double m, int n = 1, double strong_fraction = 0) {
    for (int i = 0; i < n; ++i) {
      hist.push_back(h);
      mad.push_back(m);
      strong.push_back(strong_fraction);
    }
  }
  std::vector<SceneSignal> signals() const {
    std::vector<SceneSignal> out;
    for (std::size_t i = 0; i < hist.size(); ++i) {
      kernels::FrameMeasure m;
      m.histogram = hist[i];
      m.pixels = kPixels;
      m.has_previous = i > 0;
      m.diff_sum = static_cast<std::uint64_t>(mad[i] * kPixels);
      m.strong_changes = static_cast<std::uint32_t>(strong[i] * kPixels);
      out.push_back(scene_signal(static_cast<int>(i), m, i ? &out.back() : nullptr));
    }
    return out;
  }
  std::vector<SceneCut> cuts(SceneDetectorOptions o = {}) const { return detect_scene_cuts(signals(), o); }
};

std::vector<int> frames_of(const std::vector<SceneCut>& cuts) {
  std::vector<int> f;
  for (const auto& c : cuts) f.push_back(c.frame);
  return f;
}

const kernels::Histogram kA = band(10, 12), kB = band(30, 12), kC = band(44, 10);
const kernels::Histogram kBlack = band(4, 1), kWhite = band(62, 1);

TEST(SceneDetector, AHistogramJumpIsAHardCut) {
  Clip c;
  c.add(kA, 1, 30);
  c.add(kB, 110, 1);  // frame 30 (the means differ by 80: the pixels change by more)
  c.add(kB, 1, 30);
  const auto cuts = c.cuts();
  ASSERT_EQ(frames_of(cuts), (std::vector<int>{30}));
  EXPECT_EQ(cuts[0].kind, CutKind::kHard);
  EXPECT_DOUBLE_EQ(cuts[0].score, 1.0);
  EXPECT_EQ(cuts[0].start_frame, 30);
  EXPECT_EQ(cuts[0].end_frame, 30);
}

TEST(SceneDetector, AJumpBelowTheThresholdWithNoPixelChangeIsNoCut) {
  Clip c;
  c.add(kA, 1, 30);
  c.add(mix(kA, kB, 0.3), 1, 30);  // 0.3 < 0.35, and the pixels barely change
  EXPECT_EQ(frames_of(c.cuts()), std::vector<int>{});
}

TEST(SceneDetector, CloseCandidatesKeepTheStrongest) {
  Clip c;
  c.add(kA, 1, 20);
  c.add(mix(kA, kB, 0.5), 60, 1);  // frame 20: 0.5
  c.add(mix(kA, kB, 0.5), 1, 4);
  c.add(kC, 130, 1);  // frame 25: stronger, within 12 frames: wins
  c.add(kC, 1, 24);
  EXPECT_EQ(frames_of(c.cuts({0.35, 12})), (std::vector<int>{25}));
}

TEST(SceneDetector, NoCutCloserThanMinimumToTheStart) {
  Clip c;
  c.add(kA, 1, 5);
  c.add(kB, 60, 30);  // frame 5
  EXPECT_TRUE(c.cuts({0.35, 12}).empty());
  // A worker whose segment starts at frame 100 sees no cut at 105 either.
  SceneDetector det({0.35, 12}, 100);
  const auto s = c.signals();
  for (int i = 0; i < 30; ++i) {
    SceneSignal x = s[i];
    x.frame = 100 + i;
    EXPECT_TRUE(det.push(x).empty());
  }
  EXPECT_TRUE(det.finish().empty());
}

TEST(SceneDetector, TheDecisionArrivesWithinTheDecisionDelay) {
  Clip c;
  c.add(kA, 1, 20);
  c.add(kB, 110, 1);  // frame 20
  c.add(kB, 1, 39);
  SceneDetector det({0.35, 10}, 0);
  const auto s = c.signals();
  int decided_at = -1;
  for (const auto& x : s)
    if (!det.push(x).empty()) {
      decided_at = x.frame;
      break;
    }
  EXPECT_EQ(decided_at, 20 + det.decision_delay());
}

TEST(SceneDetector, APendingCutIsReportedAtTheEnd) {
  Clip c;
  c.add(kA, 1, 50);
  c.add(kB, 110, 1);
  c.add(kB, 1, 2);
  EXPECT_EQ(frames_of(c.cuts({0.35, 10})), (std::vector<int>{50}));
}

TEST(SceneDetector, AFlashThatComesBackIsNoCut) {
  Clip c;
  c.add(kA, 1, 30);
  c.add(kC, 40, 1);  // frames 30-31: a bright flash (the pixels change by the change of brightness)
  c.add(kC, 1, 1);
  c.add(kA, 40, 1);
  c.add(kA, 1, 30);
  EXPECT_EQ(frames_of(c.cuts()), std::vector<int>{});
}

TEST(SceneDetector, TheSamePictureLighterIsNoCut) {
  Clip c;
  c.add(kA, 1, 30);
  c.add(band(18, 12), 32, 1);  // 8 bins (32 levels) lighter: every sample moved by the change of mean
  c.add(band(18, 12), 1, 30);
  EXPECT_EQ(frames_of(c.cuts()), std::vector<int>{});
}

TEST(SceneDetector, PixelsThatChangeFarMoreThanAroundThemAreACutEvenWithTheSameHistogram) {
  Clip c;
  c.add(kA, 2, 30);
  c.add(kA, 25, 1);  // frame 30: another pose before the same wall
  c.add(kA, 2, 30);
  const auto cuts = c.cuts();
  ASSERT_EQ(frames_of(cuts), (std::vector<int>{30}));
  EXPECT_EQ(cuts[0].kind, CutKind::kHard);
}

TEST(SceneDetector, SteadyMotionIsNoCut) {
  Clip c;
  c.add(kA, 25, 60);  // as much change in every frame: motion, not a cut
  EXPECT_EQ(frames_of(c.cuts()), std::vector<int>{});
}

TEST(SceneDetector, AFadeThroughBlackIsOneCutAtTheFirstFrameAfterTheBlack) {
  Clip c;
  c.add(kA, 1, 30);
  for (int i = 1; i <= 6; ++i) c.add(band(10 - i, 12 - i), 3, 1);    // frames 30-35: darker and darker
  c.add(kBlack, 3, 4);                                               // frames 36-39
  for (int i = 1; i <= 6; ++i) c.add(band(4 + 5 * i, 2 * i), 3, 1);  // frames 40-45: the new shot fades in
  c.add(kC, 1, 30);
  const auto cuts = c.cuts();
  ASSERT_EQ(frames_of(cuts), (std::vector<int>{40}));
  EXPECT_EQ(cuts[0].kind, CutKind::kFade);
  EXPECT_EQ(cuts[0].start_frame, 30);
  EXPECT_GE(cuts[0].end_frame, 44);
}

TEST(SceneDetector, AVideoThatStartsOrEndsInBlackIsNotCutThere) {
  Clip c;
  c.add(kBlack, 0, 20);
  for (int i = 1; i <= 6; ++i) c.add(band(4 + i, 2 * i), 3, 1);
  c.add(kA, 1, 40);
  c.add(kBlack, 3, 30);
  EXPECT_EQ(frames_of(c.cuts()), std::vector<int>{});
}

TEST(SceneDetector, AWhiteFrameThatComesBackIsNoCut) {
  Clip c;
  c.add(kA, 1, 30);
  c.add(kWhite, 90, 1);
  c.add(kA, 90, 1);
  c.add(kA, 1, 30);
  EXPECT_EQ(frames_of(c.cuts()), std::vector<int>{});
}

TEST(SceneDetector, ADissolveIsOneCutAtItsEnd) {
  Clip c;
  c.add(kA, 1, 30);
  for (int i = 1; i <= 20; ++i) c.add(mix(kA, kC, i / 20.0), 4, 1);  // frames 30-49
  c.add(kC, 1, 30);
  const auto cuts = c.cuts();
  ASSERT_EQ(frames_of(cuts), (std::vector<int>{49}));
  EXPECT_EQ(cuts[0].kind, CutKind::kDissolve);
  EXPECT_EQ(cuts[0].start_frame, 30);
  EXPECT_EQ(cuts[0].end_frame, 49);
}

TEST(SceneDetector, ASlowChangeLongerThanADissolveIsNoCut) {
  Clip c;
  // 100 frames that each change as much as a dissolve's, from A to C and on to B: motion, not a cut.
  c.add(kA, 1, 20);
  for (int i = 1; i <= 50; ++i) c.add(mix(kA, kC, i / 50.0), 4, 1);
  for (int i = 1; i <= 50; ++i) c.add(mix(kC, kB, i / 50.0), 4, 1);
  c.add(kB, 1, 20);
  EXPECT_EQ(frames_of(c.cuts()), std::vector<int>{});
}

TEST(SceneDetector, WithoutGradualDetectionOnlyHardCutsAreFound) {
  Clip c;
  c.add(kA, 1, 30);
  for (int i = 1; i <= 20; ++i) c.add(mix(kA, kC, i / 20.0), 4, 1);
  c.add(kC, 1, 30);
  SceneDetectorOptions o;
  o.gradual = false;
  EXPECT_EQ(frames_of(c.cuts(o)), std::vector<int>{});
}

// Two poses before one wall (book.mkv): the histogram hardly moves and the mean change is 3 levels, but
// about 1 % of the samples change strongly against 0.03 % in the frames around.
// One still picture: 40 frames that change by `around` (mean levels, strong fraction), then `frames` that
// change by `change`, then 40 like the first.
Clip local_change(std::pair<double, double> around, std::pair<double, double> change, int frames = 1) {
  Clip c;
  c.add(kA, around.first, 40, around.second);
  c.add(kA, change.first, frames, change.second);
  c.add(kA, around.first, 40, around.second);
  return c;
}

TEST(SceneDetector, APartOfThePictureReplacedAtOnceIsAHardCut) {
  const auto cuts = local_change({0.45, 0.0003}, {3.2, 0.014}).cuts();  // the change at frame 40
  ASSERT_EQ(frames_of(cuts), (std::vector<int>{40}));
  EXPECT_EQ(cuts[0].kind, CutKind::kHard);
}

// The same change undone by the next frame (a lamp in a corner that blinks) is no cut; nor is a source
// keyframe's coding noise (many samples move a little, almost none strongly); nor a busy shot whose frames
// all change strongly in places.
TEST(SceneDetector, LocalChangesThatComeBackAreNoiseOrGoOnAreNotCuts) {
  const auto blink = local_change({0.45, 0.0003}, {3.2, 0.014}, 2);  // frames 40 and 41: on, then off
  EXPECT_EQ(frames_of(blink.cuts()), std::vector<int>{});
  const auto keyframe_noise = local_change({1.5, 0.00005}, {7.4, 0.0001});
  EXPECT_EQ(frames_of(keyframe_noise.cuts()), std::vector<int>{});
  // A periodic keyframe at 640 wide (the 60 s sample's 768): 0.9 % of the samples change strongly, 9x the
  // frames around, but with 9 levels of change spread over all of them (0.001 per level: not concentrated).
  const auto spread = local_change({1.5, 0.001}, {9.0, 0.009});
  EXPECT_EQ(frames_of(spread.cuts()), std::vector<int>{});
  const auto traffic = local_change({2.2, 0.03}, {3.5, 0.045});
  EXPECT_EQ(frames_of(traffic.cuts()), std::vector<int>{});
}

}  // namespace
}  // namespace pvt
