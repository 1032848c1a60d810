// HLS work grouping: playlist segments grouped into balanced work segments, every playlist boundary kept
// (as a piece start and a forced keyframe), spans bounded, costs near their share.
#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "segment_grouping.hpp"

namespace pvt {
namespace {

// `n` playlist segments of `seconds` each at 25 fps (time base 1/1000), piece i costing cost(i).
Plan pieces(
    int n, double seconds, std::function<double(int)> cost = [](int) { return 1.0; }) {
  Plan p;
  const int frames = static_cast<int>(seconds * 25);
  for (int i = 0; i < n; ++i) {
    Segment s;
    s.index = i;
    s.start_frame = i * frames;
    s.end_frame = (i + 1) * frames;
    s.start_pts = s.start_frame * 40;
    s.end_pts = s.end_frame * 40;
    s.seek_keyframe = s.start_frame;
    s.start_s = i * seconds;
    s.duration_s = seconds;
    s.cut_reason = i ? "keyframe" : "start";
    s.cost = cost(i);
    s.complexity = cost(i);
    s.bit_budget = 1000;
    if (i % 7 == 3) s.forced_keyframes.push_back(s.start_frame + 10);  // a scene cut inside
    p.segments.push_back(s);
  }
  return p;
}

std::vector<int> playlist_starts(const Plan& p) {
  std::vector<int> starts;
  for (const auto& s : p.segments) {
    starts.push_back(s.start_frame);
    starts.insert(starts.end(), s.piece_starts.begin(), s.piece_starts.end());
  }
  return starts;
}

TEST(SegmentGrouping, KeepsEveryPlaylistBoundaryAsAPieceStartAndForcedKeyframe) {
  const Plan in = pieces(300, 2);
  const Plan g = group_playlist_segments(in, {2, 4, 120});
  // 2 workers x 4, the last two shares in halves: 10 work segments.
  ASSERT_EQ(g.segments.size(), 10u);
  EXPECT_EQ(playlist_starts(g), playlist_starts(in));
  for (std::size_t i = 0; i < g.segments.size(); ++i) {
    const Segment& s = g.segments[i];
    EXPECT_EQ(s.index, static_cast<int>(i));
    if (i > 0) {
      EXPECT_EQ(s.start_frame, g.segments[i - 1].end_frame);
    }
    const std::set<int> forced(s.forced_keyframes.begin(), s.forced_keyframes.end());
    for (int f : s.piece_starts) {
      EXPECT_GT(f, s.start_frame);
      EXPECT_LT(f, s.end_frame);
      EXPECT_TRUE(forced.count(f)) << "piece start " << f << " is not forced";
    }
    EXPECT_EQ(s.bit_budget, 1000 * (1 + static_cast<std::int64_t>(s.piece_starts.size())));
  }
  EXPECT_EQ(g.segments.back().end_frame, in.segments.back().end_frame);
  // The scene cuts inside pieces survive.
  int scene_cuts = 0;
  for (const auto& s : g.segments)
    scene_cuts += static_cast<int>(s.forced_keyframes.size() - s.piece_starts.size());
  EXPECT_EQ(scene_cuts, 43);  // pieces 3, 10, ..., 297
}

TEST(SegmentGrouping, CostsFollowTheirSharesOnUnevenContent) {
  // The first third of the pieces costs four times the rest.
  const Plan in = pieces(300, 2, [](int i) { return i < 100 ? 4.0 : 1.0; });
  const Plan g = group_playlist_segments(in, {2, 4, 600});
  ASSERT_EQ(g.segments.size(), 10u);
  const double total = 100 * 4.0 + 200 * 1.0;
  const double unit = total / 8;
  for (std::size_t i = 0; i < g.segments.size(); ++i) {
    const double share = i < 6 ? unit : unit / 2;
    EXPECT_NEAR(g.segments[i].cost, share, 4.0 + 1e-9) << "segment " << i;  // within one heavy piece
  }
  // So the heavy third is split into more work segments than a length split would give it.
  int in_heavy = 0;
  for (const auto& s : g.segments) in_heavy += s.start_frame < 100 * 50;
  EXPECT_GE(in_heavy, 5);
}

TEST(SegmentGrouping, SpansStayWithinTheMaximum) {
  const Plan in = pieces(1800, 2);  // an hour
  const Plan g = group_playlist_segments(in, {2, 4, 120});
  EXPECT_GE(g.segments.size(), 30u);
  for (const auto& s : g.segments) EXPECT_LE(s.duration_s, 120 + 1e-9) << s.index;
  EXPECT_EQ(playlist_starts(g), playlist_starts(in));
  // Cost crowded at the start: the cost shares leave the cheap rest to the last groups, which are split
  // to the maximum too.
  const Plan skewed = pieces(300, 2, [](int i) { return i < 100 ? 10.0 : 0.1; });
  const Plan h = group_playlist_segments(skewed, {2, 4, 120});
  for (const auto& s : h.segments) EXPECT_LE(s.duration_s, 120 + 1e-9) << s.index;
  EXPECT_EQ(playlist_starts(h), playlist_starts(skewed));
}

TEST(SegmentGrouping, FewPiecesStayOnePerTask) {
  const Plan in = pieces(9, 6);
  const Plan g = group_playlist_segments(in, {2, 4, 120});
  EXPECT_EQ(g.segments, in.segments);
  const Plan none = group_playlist_segments(pieces(40, 2), {0, 4, 120});
  EXPECT_EQ(none.segments.size(), 40u);
}

TEST(SegmentGrouping, PlannerGroupsOnlyWhenAsked) {
  MediaInfo m;
  m.time_base = {1, 1000};
  m.frame_rate = {25, 1};
  m.width = 320;
  m.height = 180;
  for (int i = 0; i < 25 * 120; ++i) {
    FrameEntry e;
    e.pts = e.dts = i * 40;
    e.duration = 40;
    e.size = 1000;
    e.keyframe = i % 50 == 0;
    m.frames.push_back(e);
    if (e.keyframe) m.keyframes.push_back(i);
  }
  PlanOptions o;
  o.target_s = 2;
  o.workers = 2;
  const Plan flat = plan_segments(m, nullptr, o);
  o.group_playlist = true;
  const Plan grouped = plan_segments(m, nullptr, o);
  EXPECT_EQ(flat.segments.size(), 60u);
  EXPECT_EQ(grouped.segments.size(), 10u);
  EXPECT_EQ(playlist_starts(grouped), playlist_starts(flat));
}

}  // namespace
}  // namespace pvt
