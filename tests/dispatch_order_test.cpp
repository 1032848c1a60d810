// The pool's refitted dispatch order: the weights fitted to timed segments, and the order they give.
#include <gtest/gtest.h>

#include "dispatch_order.hpp"

namespace pvt {
namespace {

TEST(DispatchOrder, FewerThanTwoTimedSegmentsKeepThePlansEstimate) {
  EXPECT_FALSE(fit_cost_weights({}).valid());
  EXPECT_FALSE(fit_cost_weights({{30, 70, 5}}).valid());
  EXPECT_DOUBLE_EQ(predicted_cost(fit_cost_weights({{30, 70, 5}}), 100, 70), 100);
}

TEST(DispatchOrder, TheFitRecoversTheWeightsThatMadeTheTimes) {
  // Seconds made with 0.05 per fixed unit and 0.01 per content unit.
  const std::vector<TimedCost> timed{
      {40, 60, 0.05 * 40 + 0.01 * 60}, {20, 100, 0.05 * 20 + 0.01 * 100}, {50, 10, 0.05 * 50 + 0.01 * 10}};
  const CostWeights w = fit_cost_weights(timed);
  ASSERT_TRUE(w.valid());
  EXPECT_NEAR(w.fixed, 0.05, 1e-9);
  EXPECT_NEAR(w.content, 0.01, 1e-9);
}

TEST(DispatchOrder, AFrameHeavyClipMovesTheLongSegmentOfCheapFramesForward) {
  // The plan weighs content 0.7 to 0.3 and ranks B (many cheap frames) below A. The timed segments show
  // that on this clip a frame's count is what costs: B is predicted longer than A, and goes first.
  const double a_cost = 100, a_content = 70;  // 100 frames' worth: 30 fixed + 70 content
  const double b_cost = 90, b_content = 20;   // 70 fixed + 20 content
  ASSERT_GT(a_cost, b_cost);
  const std::vector<TimedCost> timed{{30, 70, 30 * 0.1 + 70 * 0.01}, {60, 15, 60 * 0.1 + 15 * 0.01}};
  const CostWeights w = fit_cost_weights(timed);
  ASSERT_TRUE(w.valid());
  EXPECT_GT(predicted_cost(w, b_cost, b_content), predicted_cost(w, a_cost, a_content));
}

TEST(DispatchOrder, NoFitFromTimingsThatNeedANegativeWeightOrCannotTellThePartsApart) {
  // Times that only a negative content weight would fit: noise, so the plan's estimate stands.
  EXPECT_FALSE(fit_cost_weights({{50, 10, 6}, {50, 80, 4}, {30, 5, 3.5}}).valid());
  // Two segments with almost the same mix of the two parts (70 % and 71 % content): no fit either.
  EXPECT_FALSE(fit_cost_weights({{30, 70, 5.0}, {29, 71, 4.6}}).valid());
  EXPECT_DOUBLE_EQ(predicted_cost(fit_cost_weights({{30, 70, 5.0}, {29, 71, 4.6}}), 100, 70), 100);
}

}  // namespace
}  // namespace pvt
