#include <gtest/gtest.h>

#include "scene_detector.hpp"

namespace pvt {
namespace {

std::vector<int> frames_of(const std::vector<SceneCut>& cuts) {
  std::vector<int> f;
  for (const auto& c : cuts) f.push_back(c.frame);
  return f;
}

TEST(SceneDetector, CutsAtScoresAboveThresholdOnly) {
  std::vector<double> s(100, 0.05);
  s[30] = 0.9;
  s[60] = 0.34;  // just below the default threshold
  s[80] = 0.36;
  EXPECT_EQ(frames_of(detect_scene_cuts(s, {})), (std::vector<int>{30, 80}));
}

TEST(SceneDetector, CloseCandidatesKeepTheStrongest) {
  std::vector<double> s(100, 0.0);
  s[20] = 0.5;
  s[25] = 0.8;  // within 12 frames of 20, stronger: wins
  s[30] = 0.6;  // within 12 frames of 25, weaker: dropped
  s[50] = 0.4;
  EXPECT_EQ(frames_of(detect_scene_cuts(s, {0.35, 12})), (std::vector<int>{25, 50}));
}

TEST(SceneDetector, NoCutCloserThanMinimumToTheStart) {
  std::vector<double> s(40, 0.0);
  s[5] = 1.0;
  EXPECT_TRUE(detect_scene_cuts(s, {0.35, 12}).empty());
  SceneDetector det({0.35, 12}, 100);  // a worker whose segment starts at frame 100
  EXPECT_FALSE(det.push(105, 1.0).has_value());
  EXPECT_FALSE(det.finish().has_value());
}

TEST(SceneDetector, DecisionArrivesWithinTheMinimumSceneLength) {
  SceneDetector det({0.35, 10}, 0);
  EXPECT_FALSE(det.push(20, 0.9).has_value());
  for (int f = 21; f < 30; ++f) EXPECT_FALSE(det.push(f, 0.0).has_value()) << f;
  auto cut = det.push(30, 0.0);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->frame, 20);
  EXPECT_DOUBLE_EQ(cut->score, 0.9);
}

TEST(SceneDetector, PendingCutIsReportedAtTheEnd) {
  SceneDetector det({0.35, 10}, 0);
  det.push(50, 0.7);
  auto cut = det.finish();
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->frame, 50);
}

}  // namespace
}  // namespace pvt
