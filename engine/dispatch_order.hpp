// The order the pool hands out the segments that wait: longest first by the plan's estimate, and, once
// some segments are timed, by the estimate refitted to them. The plan's cost is a fixed part per frame
// plus a part that follows the content (its packet sizes or analysis scores), mixed in one proportion
// for every clip; the real proportion differs by clip (on the BBB 1080p upscale the frame count weighs
// about twice what the planner assumes, on the noisy 720p clip less). A segment underestimated that way
// starts late and leaves one worker finishing alone; refitting the two weights to the timed segments
// starts it earlier. Its own file so that the fit and the order can be tested without processes.
#pragma once

#include <vector>

namespace pvt {

// One timed segment: its plan cost in two parts, and how long its worker took.
struct TimedCost {
  double fixed = 0;    // cost - content_cost
  double content = 0;  // content_cost
  double seconds = 0;
};

// Seconds per unit of each part, fitted by non-negative least squares over relative errors; {0, 0} when
// fewer than two segments are timed or no fit explains them.
struct CostWeights {
  double fixed = 0, content = 0;
  bool valid() const { return fixed > 0 || content > 0; }
};
CostWeights fit_cost_weights(const std::vector<TimedCost>& timed);

// A waiting segment's predicted seconds, or its plan cost when the weights are not valid.
double predicted_cost(const CostWeights& w, double cost, double content_cost);

}  // namespace pvt
