// The order the pool hands out the segments that wait: longest first by the plan's estimate, and, once
// timed segments allow it, by the estimate refitted to them. The plan's cost is a fixed part per frame
// plus a part that follows the content (its packet sizes or analysis scores), mixed in one proportion
// for every clip; least-squares fits per clip put the per-frame share near 0.5 on the BBB 1080p upscale
// and near 0.2 on a noisy 720p clip (the planner uses 0.3). Refitting the two weights to the timed
// segments corrects the order when their mixes differ enough to tell the weights apart; early in a job
// they often do not (the first two BBB segments were 75 % and 78 % content), and then the plan's order
// stands. Its own file so that the fit can be tested without processes.
#pragma once

#include <vector>

namespace pvt {

// One timed segment: its plan cost in two parts, and how long its worker took.
struct TimedCost {
  double fixed = 0;    // cost - content_cost
  double content = 0;  // content_cost
  double seconds = 0;
};

// Seconds per unit of each part, fitted by least squares over relative errors; {0, 0} (the plan's
// estimate stands) when fewer than two segments are timed, when their mixes of the two parts are too
// alike to tell the weights apart, or when the fit needs a negative weight.
struct CostWeights {
  double fixed = 0, content = 0;
  bool valid() const { return fixed > 0 || content > 0; }
};
CostWeights fit_cost_weights(const std::vector<TimedCost>& timed);

// A waiting segment's predicted seconds, or its plan cost when the weights are not valid.
double predicted_cost(const CostWeights& w, double cost, double content_cost);

}  // namespace pvt
