// The CRF search's decisions on synthetic probe curves: interpolation, extrapolation, when it stops, the
// correction after a missed final encode, and score pooling.
#include <gtest/gtest.h>

#include <cmath>

#include "crf_search.hpp"
#include "quality_segment.hpp"

#include <algorithm>

namespace pvt {
namespace {

// A PSNR curve falling 0.5 dB per CRF step: 45 dB at CRF 20.
double psnr_at(double crf) {
  return 45 - 0.5 * (crf - 20);
}

CrfSearch psnr_search(double target) {
  CrfSearch s;
  s.metric = "psnr";
  s.target = target;
  s.crf_lo = 10;
  s.crf_hi = 40;
  s.tolerance = 0.2;
  s.first_crf = 23;
  return s;
}

TEST(CrfSearch, FindsALinearCurvesTargetInTwoProbes) {
  const CrfSearch s = psnr_search(41);  // CRF 28
  std::vector<QualityProbe> probes;
  while (auto c = next_probe(probes, s)) probes.push_back({*c, psnr_at(*c)});
  EXPECT_LE(probes.size(), 3u);
  EXPECT_NEAR(predict_crf(probes, s), 28, 0.05);
  EXPECT_NEAR(predict_score(probes, 28, s), 41, 0.05);
}

TEST(CrfSearch, AProbeOffsetAimsTheProbesWhereTheFinalLandsOnTheTarget) {
  // Finals score 1 dB over their probes: the probes aim at 40 dB for a 41 dB target (CRF 30, not 28).
  CrfSearch s = psnr_search(41);
  s.probe_offset = 1;
  std::vector<QualityProbe> probes;
  while (auto c = next_probe(probes, s)) probes.push_back({*c, psnr_at(*c)});
  EXPECT_NEAR(predict_crf(probes, s), 30, 0.05);
  // What the final is expected to score there: the probes' 40 dB and the offset.
  EXPECT_NEAR(predict_score(probes, 30, s), 41, 0.05);
  // A probe within half the tolerance of the probes' goal ends the search; one at the target does not.
  EXPECT_FALSE(next_probe({{30.1, psnr_at(30.1)}}, s).has_value());
  EXPECT_TRUE(next_probe({{28, psnr_at(28)}}, s).has_value());
}

TEST(CrfSearch, TheLearnedProbeOffsetCountsOneSegmentHalfAndSkipsWhatItCannotLearnFrom) {
  QualityResult a;
  a.metric = "psnr";
  a.final_encodes = 1;
  a.predicted = 41;
  a.first_score = 40;  // 1 dB under its probes
  EXPECT_DOUBLE_EQ(learned_probe_offset({}, "psnr"), 0);
  EXPECT_DOUBLE_EQ(learned_probe_offset({a}, "psnr"), -0.5);
  // The offset a segment ran with is in its prediction already: its probes alone predicted 41.5 here.
  QualityResult b = a;
  b.probe_offset = -0.5;
  b.predicted = 41;
  b.first_score = 40.5;
  EXPECT_DOUBLE_EQ(learned_probe_offset({a, b}, "psnr"), (-1 + -1) / 3.0);
  // Range- or cap-limited finals, other metrics and segments without a final teach nothing.
  QualityResult range = a, cap = a, other = a, none = a;
  range.limited_by_range = true;
  cap.limited_by_cap = true;
  other.metric = "ssim";
  none.final_encodes = 0;
  EXPECT_DOUBLE_EQ(learned_probe_offset({a, range, cap, other, none}, "psnr"), -0.5);
  // SSIM is learned in its dB domain: 0.97 -> 0.96 is 15.23 -> 13.98 dB.
  QualityResult s = a;
  s.metric = "ssim";
  s.predicted = 0.97;
  s.first_score = 0.96;
  EXPECT_NEAR(learned_probe_offset({s}, "ssim"), (10 * std::log10(0.03 / 0.04)) / 2, 1e-9);
}

TEST(CrfSearch, InterpolatesBetweenBracketingProbesAndStopsWhenTheyAreClose) {
  const CrfSearch s = psnr_search(41.2);
  const std::vector<QualityProbe> probes{{27, psnr_at(27)}, {28, psnr_at(28)}};
  EXPECT_NEAR(predict_crf(probes, s), 27.6, 1e-9);
  EXPECT_FALSE(next_probe(probes, s));  // bracketed 1 CRF apart: interpolation is good enough
  const std::vector<QualityProbe> wide{{20, psnr_at(20)}, {30, psnr_at(30)}};
  EXPECT_TRUE(next_probe(wide, s));
}

TEST(CrfSearch, SsimIsSearchedInItsDecibelDomain) {
  CrfSearch s;
  s.metric = "ssim";
  s.target = 0.98;
  s.tolerance = 0.002;
  // SSIM dB linear in CRF: 20 dB (0.99) at CRF 20, 0.4 dB less per step.
  auto ssim_at = [](double crf) { return 1 - std::pow(10, -(20 - 0.4 * (crf - 20)) / 10); };
  std::vector<QualityProbe> probes;
  while (auto c = next_probe(probes, s)) probes.push_back({*c, ssim_at(*c)});
  const double crf = predict_crf(probes, s);
  EXPECT_NEAR(ssim_at(crf), 0.98, 0.001);
  EXPECT_NEAR(score_from_domain("ssim", score_domain("ssim", 0.987)), 0.987, 1e-12);
}

TEST(CrfSearch, StopsAtTheRangesEndWhenTheTargetIsOutOfReach) {
  const CrfSearch s = psnr_search(60);  // better than CRF 10 gives
  std::vector<QualityProbe> probes;
  while (auto c = next_probe(probes, s)) probes.push_back({*c, psnr_at(*c)});
  EXPECT_LE(probes.size(), 3u);
  EXPECT_DOUBLE_EQ(predict_crf(probes, s), 10);
}

TEST(CrfSearch, NeverProbesMoreThanAllowed) {
  CrfSearch s = psnr_search(41);
  s.max_probes = 1;
  std::vector<QualityProbe> probes;
  while (auto c = next_probe(probes, s)) probes.push_back({*c, psnr_at(*c) + 0.1 * probes.size()});
  EXPECT_EQ(probes.size(), 1u);
}

TEST(CrfSearch, ACorrectionMovesTheCrfTowardsTheTarget) {
  const CrfSearch s = psnr_search(41);
  const std::vector<QualityProbe> probes{{26, psnr_at(26)}, {30, psnr_at(30)}};
  // The final encode came out 1 dB worse than the probes said: 2 CRF steps back.
  EXPECT_NEAR(corrected_crf(probes, {{28, 40}}, s), 26, 1e-9);
  // 0.05 dB better: still at least a quarter step up.
  EXPECT_NEAR(corrected_crf(probes, {{28, 41.05}}, s), 28.25, 1e-9);
  // Two finals: their own slope (1 dB per CRF here), not the probes' 0.5.
  EXPECT_NEAR(corrected_crf(probes, {{28, 40}, {26, 42}}, s), 27, 1e-9);
  // Two finals close around the target: between them, not a quarter step back onto the first.
  EXPECT_NEAR(corrected_crf(probes, {{28, 40.9}, {27.8, 41.3}}, s), 27.95, 1e-9);
}

TEST(CrfSearch, PoolsFramesAsMeanFifthPercentileOrMinimum) {
  std::vector<double> f;
  for (int i = 1; i <= 100; ++i) f.push_back(i);
  EXPECT_DOUBLE_EQ(pool_scores(f, "mean"), 50.5);
  EXPECT_DOUBLE_EQ(pool_scores(f, "p5"), 5);
  EXPECT_DOUBLE_EQ(pool_scores(f, "min"), 1);
}

}  // namespace
}  // namespace pvt

namespace pvt {
namespace {

SegmentDescriptor segment_of(int frames, const std::string& preset) {
  SegmentDescriptor d;
  d.start_frame = 1000;
  d.end_frame = 1000 + frames;
  d.encoder.preset = preset;
  return d;
}

TEST(ProbeSample, FourWindowsOfAQuarterEachFollowedByUnscoredLookAheadContext) {
  const ProbeSample s = probe_sample(segment_of(300, "medium"), 320 * 240 * 3 / 2);
  ASSERT_EQ(s.window_starts.size(), 4u);
  ASSERT_EQ(s.frames.size(), s.scored.size());
  EXPECT_EQ(std::count(s.scored.begin(), s.scored.end(), true), 72);   // 25 % of 300 in 4 windows: 18 each
  EXPECT_EQ(std::count(s.scored.begin(), s.scored.end(), false), 40);  // medium: rc-lookahead 40 / 4 each
  for (std::size_t i = 1; i < s.frames.size(); ++i) EXPECT_LT(s.frames[i - 1], s.frames[i]);
  EXPECT_GE(s.frames.front(), 1000);
  EXPECT_LT(s.frames.back(), 1300);
  for (int w : s.window_starts) {
    const auto at = std::find(s.frames.begin(), s.frames.end(), w) - s.frames.begin();
    EXPECT_TRUE(s.scored[at]) << "a window starts with a scored frame";
  }
  const ProbeSample fast = probe_sample(segment_of(300, "ultrafast"), 320 * 240 * 3 / 2);
  EXPECT_EQ(std::count(fast.scored.begin(), fast.scored.end(), false), 0);
}

TEST(ProbeSample, AShortSegmentIsItsOwnSampleAndBigFramesShrinkIt) {
  const ProbeSample s = probe_sample(segment_of(90, "medium"), 1000);
  EXPECT_EQ(s.frames.size(), 90u);
  EXPECT_EQ(s.window_starts, std::vector<int>{1000});
  // 8K frames (50 MB each): the 256 MiB cap leaves 5, and no window is shorter than 4 frames.
  const ProbeSample big = probe_sample(segment_of(600, "ultrafast"), 50LL << 20);
  EXPECT_LE(std::count(big.scored.begin(), big.scored.end(), true), 16);
}

}  // namespace
}  // namespace pvt
