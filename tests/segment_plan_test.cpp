// The planner's rules on synthetic frame tables: bounds, where cuts go, balance, bit budgets.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "segment_plan.hpp"

namespace pvt {
namespace {

// `frames` frames at 25 fps (time base 1/1000), a keyframe every `gop` frames, packet sizes from `size`.
MediaInfo synthetic(
    int frames, int gop, std::function<int(int)> size = [](int) { return 1000; }) {
  MediaInfo m;
  m.path = "synthetic";
  m.time_base = {1, 1000};
  m.frame_rate = {25, 1};
  m.width = 640;
  m.height = 360;
  for (int i = 0; i < frames; ++i) {
    FrameEntry e;
    e.pts = i * 40;
    e.dts = e.pts;
    e.duration = 40;
    e.size = size(i);
    e.keyframe = gop > 0 && i % gop == 0;
    m.frames.push_back(e);
    if (e.keyframe) m.keyframes.push_back(i);
  }
  if (m.keyframes.empty() || m.keyframes[0] != 0) m.keyframes.insert(m.keyframes.begin(), 0);
  return m;
}

void expect_contiguous_cover(const Plan& p, int frames) {
  ASSERT_FALSE(p.segments.empty());
  EXPECT_EQ(p.segments.front().start_frame, 0);
  EXPECT_EQ(p.segments.back().end_frame, frames);
  for (std::size_t i = 1; i < p.segments.size(); ++i) {
    EXPECT_EQ(p.segments[i].start_frame, p.segments[i - 1].end_frame);
    EXPECT_EQ(p.segments[i].start_pts, p.segments[i - 1].end_pts);
  }
}

TEST(SegmentPlan, SegmentsStayWithinMinAndMaxLength) {
  const MediaInfo m = synthetic(25 * 95, 37);  // 95 s, keyframes at odd places
  PlanOptions o;
  o.target_s = 10;
  const Plan p = plan_segments(m, nullptr, o);
  expect_contiguous_cover(p, 25 * 95);
  EXPECT_DOUBLE_EQ(p.min_s, 5);
  EXPECT_DOUBLE_EQ(p.max_s, 15);
  for (const auto& s : p.segments) {
    EXPECT_GE(s.duration_s, p.min_s - 1e-9) << s.index;
    EXPECT_LE(s.duration_s, p.max_s + 1e-9) << s.index;
  }
}

TEST(SegmentPlan, IndexPlanCutsOnKeyframesSoNoDecodeIsWasted) {
  const MediaInfo m = synthetic(25 * 60, 50);  // keyframe every 2 s
  const Plan p = plan_segments(m, nullptr, {});
  EXPECT_EQ(p.basis, "index");
  for (const auto& s : p.segments) {
    EXPECT_EQ(s.start_frame % 50, 0) << s.index;
    EXPECT_EQ(s.seek_keyframe, s.start_frame);
    if (s.index > 0) {
      EXPECT_EQ(s.cut_reason, "keyframe");
    }
    EXPECT_NEAR(s.duration_s, 10, 1e-9);  // keyframes fall exactly on the target
  }
}

TEST(SegmentPlan, SceneCutsWinOverKeyframesAndForceKeyframesInside) {
  const MediaInfo m = synthetic(25 * 30, 50);
  Analysis a;
  a.frames.resize(m.frames.size());
  a.cuts = {{170, 0.9}, {200, 0.5}, {230, 0.8}};  // 6.8 s, 8 s (a keyframe), 9.2 s
  const Plan p = plan_segments(m, &a, {});
  EXPECT_EQ(p.basis, "analysis");
  ASSERT_GE(p.segments.size(), 2u);
  // Within [5, 15] s the cut nearest the target (9.2 s) scores best among scene cuts.
  EXPECT_EQ(p.segments[1].start_frame, 230);
  EXPECT_EQ(p.segments[1].cut_reason, "scene");
  EXPECT_EQ(p.segments[0].forced_keyframes, (std::vector<int>{170, 200}));
  // libaom keys no scene change in a single encode, so pvt forces none there for it either; the cuts
  // still choose where segments start.
  PlanOptions aom;
  aom.encoder_keys_scene_changes = false;
  const Plan q = plan_segments(m, &a, aom);
  ASSERT_GE(q.segments.size(), 2u);
  EXPECT_EQ(q.segments[1].start_frame, 230);
  for (const auto& s : q.segments) EXPECT_TRUE(s.forced_keyframes.empty()) << s.index;
  EXPECT_FALSE(encoder_keys_scene_changes("aom"));
  EXPECT_TRUE(encoder_keys_scene_changes("svtav1"));
}

TEST(SegmentPlan, WithoutCandidatesCutsAtTheTargetLength) {
  const MediaInfo m = synthetic(25 * 40, 0);  // one keyframe at 0 (a long-GOP source)
  const Plan p = plan_segments(m, nullptr, {});
  expect_contiguous_cover(p, 25 * 40);
  ASSERT_EQ(p.segments.size(), 4u);
  for (const auto& s : p.segments) {
    EXPECT_EQ(s.seek_keyframe, 0);
    EXPECT_NEAR(s.duration_s, 10, 0.05);
    if (s.index > 0) {
      EXPECT_EQ(s.cut_reason, "length");
    }
  }
  // Frames decoded only to be dropped make later segments cost more.
  EXPECT_GT(p.segments[3].cost, p.segments[1].cost);
}

TEST(SegmentPlan, ShortInputIsOneSegment) {
  const MediaInfo m = synthetic(100, 25);
  const Plan p = plan_segments(m, nullptr, {});
  ASSERT_EQ(p.segments.size(), 1u);
  EXPECT_EQ(p.segments[0].frame_count(), 100);
}

TEST(SegmentPlan, ShrinksSegmentsToKeepEveryWorkerBusy) {
  const MediaInfo m = synthetic(25 * 40, 25);
  PlanOptions o;
  o.workers = 4;
  o.shrink_for_workers = true;
  const Plan p = plan_segments(m, nullptr, o);
  EXPECT_GE(p.segments.size(), 8u);  // two per worker
  EXPECT_LE(p.target_s, 5.0);
  o.shrink_for_workers = false;  // HLS: the user's segment length stands
  EXPECT_EQ(plan_segments(m, nullptr, o).segments.size(), 4u);
}

TEST(SegmentPlan, FileOutputsBalanceSegmentsByCostNotLength) {
  // 60 s; the second half costs three times as much per frame (packets 5x the size).
  const MediaInfo m = synthetic(25 * 60, 25, [](int i) { return i < 750 ? 1000 : 5000; });
  PlanOptions o;
  o.workers = 2;
  o.shrink_for_workers = true;
  const Plan p = plan_segments(m, nullptr, o);
  expect_contiguous_cover(p, 25 * 60);
  ASSERT_GE(p.segments.size(), 8u);  // four per worker, the tail split finer
  EXPECT_GT(p.target_cost, 0);
  double light_s = 0, heavy_s = 0;
  int light = 0, heavy = 0;
  for (std::size_t i = 0; i < p.segments.size(); ++i) {
    const auto& s = p.segments[i];
    // Every segment near its share: the target, or half of it in the tail (keyframes every second allow
    // cutting within 1/25 of the cost of a light second, a bit more of a heavy one).
    const bool tail = s.cost < 0.75 * p.target_cost;
    EXPECT_NEAR(s.cost / (tail ? p.target_cost / 2 : p.target_cost), 1.0, 0.3)
        << "segment " << i << ": frames " << s.start_frame << "+" << s.frame_count() << " cost " << s.cost
        << " of " << p.target_cost;
    (s.end_frame <= 750 ? light_s : heavy_s) += s.duration_s;
    (s.end_frame <= 750 ? light : heavy) += 1;
  }
  // The heavy half is cut into shorter pieces than the light half.
  ASSERT_GT(light, 0);
  ASSERT_GT(heavy, 0);
  EXPECT_LT(heavy_s / heavy, 0.8 * light_s / light);
}

TEST(SegmentPlan, CostlyCutsShrinkTheSegmentCount) {
  // A camera clip: 60 s, a keyframe every 2 s whose packet is ten times the others. Every cut adds an
  // IDR a single encode would not have (~0.8 % of the bits each), so the plan keeps to one cut per
  // worker instead of four segments per worker.
  const MediaInfo m = synthetic(25 * 60, 50, [](int i) { return i % 50 == 0 ? 10000 : 1000; });
  PlanOptions o;
  o.workers = 2;
  o.shrink_for_workers = true;
  const Plan p = plan_segments(m, nullptr, o);
  expect_contiguous_cover(p, 25 * 60);
  EXPECT_NEAR(p.idr_cost_share, 9000.0 / (30 * 10000 + 1470 * 1000), 1e-9);
  EXPECT_EQ(p.segments.size(), 2u);
  EXPECT_EQ(p.paid_cuts, 1);
  // Halving the IDR's cost buys more pieces; a budget of zero still leaves one per worker.
  o.idr_budget = 0;
  EXPECT_EQ(plan_segments(m, nullptr, o).segments.size(), 2u);
  o.idr_budget = 0.05;
  EXPECT_GE(plan_segments(m, nullptr, o).segments.size(), 8u);
}

// An x264-style source of 60 s: a keyframe 100 frames after the last one, or earlier at a scene change.
MediaInfo source_with_scene_keyframes(const std::vector<int>& scene_keys) {
  MediaInfo m = synthetic(25 * 60, 0);
  m.keyframes.clear();
  for (int i = 0, last = 0; i < static_cast<int>(m.frames.size()); ++i) {
    const bool key = i == 0 || i - last == 100 || std::count(scene_keys.begin(), scene_keys.end(), i) > 0;
    m.frames[i].keyframe = key;
    m.frames[i].size = key ? 10000 : 1000;
    if (key) {
      m.keyframes.push_back(i);
      last = i;
    }
  }
  return m;
}

TEST(SegmentPlan, KeyframesOffTheSourcesIntervalAreFreeCuts) {
  // Five scene-change keyframes: they cost nothing a single encode would not pay, so the plan may use
  // them all and prefers them.
  const std::vector<int> scene_keys{130, 370, 610, 850, 1090};
  const MediaInfo m = source_with_scene_keyframes(scene_keys);
  PlanOptions o;
  o.workers = 2;
  o.shrink_for_workers = true;
  const Plan p = plan_segments(m, nullptr, o);
  expect_contiguous_cover(p, 25 * 60);
  int on_scene_keys = 0;
  for (const auto& s : p.segments)
    on_scene_keys += std::count(scene_keys.begin(), scene_keys.end(), s.start_frame) > 0;
  EXPECT_GE(p.segments.size(), 5u);
  EXPECT_GE(on_scene_keys, 4) << "cuts should land on the scene-change keyframes";
  EXPECT_EQ(p.paid_cuts, static_cast<int>(p.segments.size()) - 1 - on_scene_keys);
}

TEST(SegmentPlan, AnEncoderThatKeysNoSceneChangePaysForEveryCut) {
  // libaom's single encode keys none of those scene changes, so each cut is an IDR it would not have
  // made: the plan keeps to one segment per worker (the fewest that keep them busy) and counts the cut.
  const MediaInfo m = source_with_scene_keyframes({130, 370, 610, 850, 1090});
  PlanOptions o;
  o.workers = 2;
  o.shrink_for_workers = true;
  o.encoder_keys_scene_changes = false;
  const Plan p = plan_segments(m, nullptr, o);
  expect_contiguous_cover(p, 25 * 60);
  EXPECT_EQ(p.segments.size(), 2u);
  EXPECT_EQ(p.paid_cuts, 1);
}

TEST(SegmentPlan, AnEncoderThatKeysNoSceneChangeCutsAtOneNearTheBalancedPoint) {
  // For libaom a scene-change cut is cheaper than any other (the frame there is costly anyway), so the
  // one cut of a two-worker plan goes to the scene-change keyframe 0.8 s past the middle; one 4 s past it
  // would leave a worker 13 % more to do, and the cut stays at the middle.
  PlanOptions o;
  o.workers = 2;
  o.shrink_for_workers = true;
  o.encoder_keys_scene_changes = false;
  const Plan near = plan_segments(source_with_scene_keyframes({770}), nullptr, o);
  ASSERT_EQ(near.segments.size(), 2u);
  EXPECT_EQ(near.segments[1].start_frame, 770);
  const Plan far = plan_segments(source_with_scene_keyframes({850}), nullptr, o);
  ASSERT_EQ(far.segments.size(), 2u);
  EXPECT_NE(far.segments[1].start_frame, 850);
  EXPECT_NEAR(far.segments[1].start_frame, 750, 30);
}

TEST(SegmentPlan, BitBudgetsSumToTheTotalAndFollowComplexity) {
  // Second half of the clip has packets four times larger: it must get more bits per second.
  const MediaInfo m = synthetic(25 * 40, 25, [](int i) { return i < 500 ? 1000 : 4000; });
  PlanOptions o;
  o.total_bits = 40LL * 2'000'000;
  const Plan p = plan_segments(m, nullptr, o);
  std::int64_t sum = 0;
  for (const auto& s : p.segments) sum += s.bit_budget;
  EXPECT_NEAR(static_cast<double>(sum), static_cast<double>(o.total_bits),
              static_cast<double>(p.segments.size()));
  const auto& first = p.segments.front();
  const auto& last = p.segments.back();
  EXPECT_GT(last.bit_budget / last.duration_s, 1.5 * first.bit_budget / first.duration_s);
  // And cost (encode time) follows complexity too, which orders the worker queue.
  EXPECT_GT(last.cost / last.frame_count(), first.cost / first.frame_count());
}

TEST(SegmentPlan, RejectsImpossibleBounds) {
  const MediaInfo m = synthetic(250, 25);
  PlanOptions o;
  o.min_s = 8;
  o.max_s = 4;
  EXPECT_ANY_THROW(plan_segments(m, nullptr, o));
}

}  // namespace
}  // namespace pvt

namespace pvt {
namespace {

// When the workers finish, taking the plan's segments longest first as the pool does (estimated cost).
double longest_first_finish(const Plan& p, int workers) {
  std::vector<double> costs;
  for (const auto& s : p.segments) costs.push_back(s.cost);
  std::sort(costs.begin(), costs.end(), std::greater<>());
  std::vector<double> busy(workers, 0.0);
  for (double c : costs) *std::min_element(busy.begin(), busy.end()) += c;
  return *std::max_element(busy.begin(), busy.end());
}

TEST(SegmentPlan, ACameraClipIsCutAtItsKeyframeNearTheBalancedPoint) {
  // The shared car clip's shape: 377 frames, a keyframe every 60 whose packet is four times the others.
  // The balanced point is near frame 188; the keyframe at 180 lies 4 % of a segment's cost before it,
  // within what a source keyframe is worth (its I-frame is costly as an inter frame too), so the one cut
  // goes there, and the last wave is not evened out again with a cut of its own.
  const MediaInfo m = synthetic(377, 60, [](int i) { return i % 60 == 0 ? 4000 : 1000; });
  PlanOptions o;
  o.workers = 2;
  o.shrink_for_workers = true;
  const Plan p = plan_segments(m, nullptr, o);
  expect_contiguous_cover(p, 377);
  ASSERT_EQ(p.segments.size(), 2u);
  EXPECT_EQ(p.segments[1].start_frame, 180);
  EXPECT_EQ(p.segments[1].cut_reason, "keyframe");
  // A keyframe 6 % of a segment's cost away wins too when a cut at the balance would decode 88 frames
  // only to drop them (GOP 100): that decoding would cost the second worker more than the offset.
  const MediaInfo far = synthetic(377, 100, [](int i) { return i % 100 == 0 ? 4000 : 1000; });
  const Plan q = plan_segments(far, nullptr, o);
  ASSERT_EQ(q.segments.size(), 2u);
  EXPECT_EQ(q.segments[1].start_frame, 200);
  // But one 10 % away, where the cut at the balance decodes 18 frames to drop (GOP 170), is not worth
  // the imbalance: the cut stays at the balance.
  const MediaInfo farther = synthetic(377, 170, [](int i) { return i % 170 == 0 ? 4000 : 1000; });
  const Plan r = plan_segments(farther, nullptr, o);
  ASSERT_EQ(r.segments.size(), 2u);
  EXPECT_NE(r.segments[1].start_frame, 170);
  EXPECT_NEAR(r.segments[1].start_frame, 188, 4);
  EXPECT_EQ(r.segments[1].cut_reason, "length");
}

// A 30 s clip with an encoder's default 250-frame GOP, cut for two workers: finer pieces than its GOPs
// would mostly start between keyframes and decode more frames to drop than they even out (measured:
// 1,021 frames for 900, 1.28x plain ffmpeg's wall time), so the plan takes about one piece per GOP, cut at
// the keyframes, and the frames it decodes to drop stay a small share of the clip.
TEST(SegmentPlan, LongGopsAreCutAtTheirKeyframesNotFiner) {
  const MediaInfo m = synthetic(900, 250);
  PlanOptions o;
  o.workers = 2;
  o.shrink_for_workers = true;
  const Plan p = plan_segments(m, nullptr, o);
  expect_contiguous_cover(p, 900);
  EXPECT_LE(p.segments.size(), 5u);
  int dropped = 0, keyframe_starts = 0;
  for (const auto& s : p.segments) {
    dropped += s.start_frame - s.seek_keyframe;
    keyframe_starts += s.start_frame == s.seek_keyframe;
  }
  EXPECT_GE(keyframe_starts, 4);
  EXPECT_LE(dropped, 250) << "frames decoded only to be dropped";
  // The same clip with a 2 s GOP is still cut finely for balance.
  const Plan fine = plan_segments(synthetic(900, 50), nullptr, o);
  EXPECT_GE(fine.segments.size(), 8u);
}

TEST(SegmentPlan, TheLastWaveIsEvenedOutSoTheWorkersFinishTogether) {
  // The uneven clip of benchmarks/plan_balance.py: a calm half, then a noisy half of 9x the bits, a
  // keyframe a second. The cuts alone gave 7 pieces of near-equal cost for 2 workers (one ran the
  // seventh alone: 1.09x an even share); the plan must now finish within 5 % of an even share (its cuts
  // are at keyframes, which may take that much off the balance: kSourceKeyframeCutBonus).
  const MediaInfo m = synthetic(25 * 20, 25, [](int i) { return i < 250 ? 1000 : 9000; });
  PlanOptions o;
  o.workers = 2;
  o.shrink_for_workers = true;
  const Plan p = plan_segments(m, nullptr, o);
  expect_contiguous_cover(p, 25 * 20);
  double total = 0;
  for (const auto& s : p.segments) total += s.cost;
  EXPECT_LE(longest_first_finish(p, 2), 1.05 * total / 2) << p.segments.size() << " segments";
  for (const auto& s : p.segments) EXPECT_GE(s.duration_s, p.min_s - 1e-9) << s.index;
}

}  // namespace
}  // namespace pvt
