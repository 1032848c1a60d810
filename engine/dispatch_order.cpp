#include "dispatch_order.hpp"

#include <cmath>

namespace pvt {

namespace {

// Least squares of relative error for seconds ~ a * fixed + b * content: the 2x2 normal equations. No
// fit (the plan's estimate stands) when the timed segments mix the two parts too alike to tell them
// apart, or when the best fit needs a negative weight: with two or three noisy timings either is noise.
CostWeights solve(const std::vector<TimedCost>& timed) {
  double ff = 0, fc = 0, cc = 0, fy = 0, cy = 0;
  for (const auto& t : timed) {
    // Each row divided by its seconds: a 10 % miss on a short segment weighs as much as on a long one.
    const double f = t.fixed / t.seconds, c = t.content / t.seconds;
    ff += f * f;
    fc += f * c;
    cc += c * c;
    fy += f;
    cy += c;
  }
  const double det = ff * cc - fc * fc;
  // det / (ff * cc) is 1 - cos^2 of the angle between the two parts' columns: under 0.01 they are
  // within about 6 degrees of each other.
  if (!(ff > 0 && cc > 0) || det < 0.01 * ff * cc) return {};
  const CostWeights w{(fy * cc - cy * fc) / det, (cy * ff - fy * fc) / det};
  if (w.fixed < 0 || w.content < 0) return {};
  return w;
}

}  // namespace

CostWeights fit_cost_weights(const std::vector<TimedCost>& timed) {
  std::vector<TimedCost> usable;
  for (const auto& t : timed)
    if (t.seconds > 0 && t.fixed >= 0 && t.content >= 0 && t.fixed + t.content > 0) usable.push_back(t);
  if (usable.size() < 2) return {};
  const CostWeights w = solve(usable);
  if (!std::isfinite(w.fixed) || !std::isfinite(w.content)) return {};
  return w;
}

double predicted_cost(const CostWeights& w, double cost, double content_cost) {
  if (!w.valid()) return cost;
  return w.fixed * (cost - content_cost) + w.content * content_cost;
}

}  // namespace pvt
