// The last-wave pass on costs made up for the purpose: where its extra cut goes.
#include "last_wave.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <iterator>
#include <set>

namespace pvt {
namespace {

// 260 frames of cost 1 each, a frame a second (so min_s counts frames); a cut between keyframes also
// pays 0.15 a frame for the frames decoded from the keyframe before it, as the plan charges.
struct Clip {
  std::set<int> keyframes;
  std::function<double(int)> t = [](int f) { return static_cast<double>(f); };
  std::function<bool(int)> is_keyframe = [this](int f) { return keyframes.count(f) > 0; };
  std::function<double(int, int)> cost = [this](int from, int to) {
    return (to - from) + 0.15 * (from - *std::prev(keyframes.upper_bound(from)));
  };
};

std::vector<double> costs_of(const std::vector<std::pair<int, std::string>>& starts, const Clip& c, int n) {
  std::vector<double> costs;
  for (std::size_t s = 0; s < starts.size(); ++s)
    costs.push_back(c.cost(starts[s].first, s + 1 < starts.size() ? starts[s + 1].first : n));
  return costs;
}

TEST(LastWave, TheCutGoesWhereTheWorkersFinishTogetherNotAtTheMidpoint) {
  // Pieces of 100, 100 and 60 for 2 workers finish at 160 against an even 130. Halving the first 100
  // finishes at 100 + 50 = 150 (and decodes 50 frames twice); cutting it at f finishes at
  // max(100 + f, 60 + (100 - f) + 0.15 f), earliest at f = 32: 132.8.
  Clip c;
  c.keyframes = {0, 100, 200};
  std::vector<std::pair<int, std::string>> starts{{0, "start"}, {100, "keyframe"}, {200, "keyframe"}};
  even_out_last_wave(starts, 260, c.t, c.is_keyframe, c.cost, 5, 2);
  ASSERT_EQ(starts.size(), 4u);
  EXPECT_LE(longest_first_makespan(costs_of(starts, c, 260), 2), 133.0);
}

TEST(LastWave, AKeyframeWinsANearTie) {
  // As above with a keyframe at 31: cutting there finishes at 131, at 30 (5 frames decoded in vain from
  // 25) at 130.75; within half a percent, the keyframe costs no decoding.
  Clip c;
  c.keyframes = {0, 25, 31, 100, 200};
  std::vector<std::pair<int, std::string>> starts{{0, "start"}, {100, "keyframe"}, {200, "keyframe"}};
  even_out_last_wave(starts, 260, c.t, c.is_keyframe, c.cost, 5, 2);
  ASSERT_EQ(starts.size(), 4u);
  EXPECT_EQ(starts[1].first, 31);
  EXPECT_EQ(starts[1].second, "keyframe");
}

TEST(LastWave, NoCutWhenTheFinishIsAlreadyEven) {
  Clip c;
  c.keyframes = {0, 130};
  std::vector<std::pair<int, std::string>> starts{{0, "start"}, {130, "keyframe"}};
  even_out_last_wave(starts, 260, c.t, c.is_keyframe, c.cost, 5, 2);
  EXPECT_EQ(starts.size(), 2u);
}

TEST(LastWave, SegmentsTooShortToCutStayWhole) {
  // Three 10-frame pieces for 2 workers, and a minimum of 6: no piece can hold two.
  Clip c;
  c.keyframes = {0, 10, 20};
  std::vector<std::pair<int, std::string>> starts{{0, "start"}, {10, "keyframe"}, {20, "keyframe"}};
  even_out_last_wave(starts, 30, c.t, c.is_keyframe, c.cost, 6, 2);
  EXPECT_EQ(starts.size(), 3u);
}

}  // namespace
}  // namespace pvt
