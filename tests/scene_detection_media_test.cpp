// Scene detection on a generated clip whose cuts are known: all found, none extra, through the engine
// and through `pvt analyze --json`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "frame_analysis.hpp"
#include "media_index.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

TEST(SceneDetectionMedia, FindsEveryKnownCutAndNoOther) {
  const MediaInfo info = probe_media(test::scene_clip());
  ASSERT_EQ(info.frames.size(), 200u);
  const Analysis a = analyze_frames(info, {});
  std::vector<int> found;
  for (const auto& c : a.cuts) found.push_back(c.frame);
  EXPECT_EQ(found, test::kSceneClipCuts);
  ASSERT_EQ(a.scenes.size(), 4u);
  EXPECT_EQ(a.scenes[1].start_frame, 50);
  EXPECT_EQ(a.scenes[1].end_frame, 100);
  for (const auto& f : a.frames) EXPECT_TRUE(f.decoded);
}

TEST(SceneDetectionMedia, ParallelRangesGiveTheSameScoresAsOneThread) {
  // A clip with keyframes every 25 frames splits into several ranges; the stitched result must match.
  test::TempDir dir;
  const std::string clip = dir / "gop25.mp4";
  ASSERT_EQ(test::run({"ffmpeg", "-v", "error", "-i", test::scene_clip(), "-c:v", "libx264", "-preset",
                       "ultrafast", "-g", "25", "-x264-params", "scenecut=0", clip})
                .exit_code,
            0);
  const MediaInfo info = probe_media(clip);
  AnalysisOptions one, many;
  one.threads = 1;
  many.threads = 4;
  const Analysis a = analyze_frames(info, one);
  const Analysis b = analyze_frames(info, many);
  EXPECT_GT(b.ranges, 1);
  ASSERT_EQ(a.frames.size(), b.frames.size());
  for (std::size_t i = 0; i < a.frames.size(); ++i) {
    EXPECT_DOUBLE_EQ(a.frames[i].scene_score, b.frames[i].scene_score) << i;
    EXPECT_DOUBLE_EQ(a.frames[i].temporal, b.frames[i].temporal) << i;
  }
  std::vector<int> found;
  for (const auto& c : b.cuts) found.push_back(c.frame);
  EXPECT_EQ(found, test::kSceneClipCuts);
}

TEST(SceneDetectionMedia, AnalyzeCommandReportsCutsKeyframesAndPlan) {
  const auto r = test::run_pvt({"analyze", test::scene_clip(), "--json", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("version"), 1);
  std::vector<int> cuts;
  for (const auto& c : j.at("scene_cuts")) cuts.push_back(c.at("frame").get<int>());
  EXPECT_EQ(cuts, test::kSceneClipCuts);
  EXPECT_EQ(j.at("media").at("video").at("frames"), 200);
  EXPECT_EQ(j.at("media").at("video").at("variable_frame_rate"), false);
  EXPECT_EQ(j.at("media").at("keyframes").size(), 1u);
  EXPECT_EQ(j.at("scenes").size(), 4u);
  EXPECT_GT(j.at("scenes").at(0).at("spatial_complexity").get<double>(), 0);
  EXPECT_FALSE(j.at("plan").at("segments").empty());
}

TEST(SceneDetectionMedia, ThresholdAndMinimumSceneLengthAreOptions) {
  const auto cuts_with = [](std::vector<std::string> extra) {
    std::vector<std::string> args{"analyze", test::scene_clip(), "--json", "--progress", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = test::run_pvt(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto report = nlohmann::json::parse(r.out);
    std::vector<int> cuts;
    for (const auto& c : report.at("scene_cuts")) cuts.push_back(c.at("frame"));
    return cuts;
  };
  // A minimum scene longer than the clip finds nothing.
  EXPECT_TRUE(cuts_with({"--min-scene-frames", std::string("500")}).empty());
  // The threshold is the histogram's: these cuts change every pixel far more than the frames around them,
  // so they stand at any threshold (the detector's unit tests show the threshold deciding).
  EXPECT_EQ(cuts_with({"--scene-threshold", std::string("0.99")}), test::kSceneClipCuts);
}

}  // namespace
}  // namespace pvt
