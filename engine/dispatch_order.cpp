#include "dispatch_order.hpp"

#include <cmath>

namespace pvt {

namespace {

// Least squares of relative error for seconds ~ a * fixed + b * content with a, b >= 0: the 2x2 normal
// equations, and when their solution has a negative weight, the better of the two one-weight fits.
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
  if (std::abs(det) > 1e-12 * (ff * cc)) {
    const CostWeights both{(fy * cc - cy * fc) / det, (cy * ff - fy * fc) / det};
    if (both.fixed >= 0 && both.content >= 0) return both;
  }
  const CostWeights only_fixed{ff > 0 ? fy / ff : 0, 0}, only_content{0, cc > 0 ? cy / cc : 0};
  auto residual = [&](const CostWeights& w) {
    double r = 0;
    for (const auto& t : timed) {
      const double e = (w.fixed * t.fixed + w.content * t.content) / t.seconds - 1;
      r += e * e;
    }
    return r;
  };
  return residual(only_fixed) <= residual(only_content) ? only_fixed : only_content;
}

}  // namespace

CostWeights fit_cost_weights(const std::vector<TimedCost>& timed) {
  std::vector<TimedCost> usable;
  for (const auto& t : timed)
    if (t.seconds > 0 && t.fixed >= 0 && t.content >= 0 && t.fixed + t.content > 0) usable.push_back(t);
  if (usable.size() < 2) return {};
  const CostWeights w = solve(usable);
  if (!std::isfinite(w.fixed) || !std::isfinite(w.content) || w.fixed < 0 || w.content < 0) return {};
  return w;
}

double predicted_cost(const CostWeights& w, double cost, double content_cost) {
  if (!w.valid()) return cost;
  return w.fixed * (cost - content_cost) + w.content * content_cost;
}

}  // namespace pvt
