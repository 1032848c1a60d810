#include "crf_search.hpp"

#include <algorithm>
#include <cmath>

namespace pvt {

namespace {

// Score-domain change per CRF step when the probes cannot tell: PSNR about -0.45 dB, SSIM dB about -0.65
// (-0.6 to -0.75 on the shared BBB and car clips at veryfast), VMAF about -1.3 points.
double typical_slope(const std::string& metric) {
  return metric == "vmaf" ? -1.3 : metric == "psnr" ? -0.45 : -0.65;
}

double clamp_round(double crf, const CrfSearch& s) {
  const double c = std::clamp(crf, s.crf_lo, s.crf_hi);
  return s.whole_steps ? std::round(c) : std::round(c * 100) / 100;
}

struct Point {
  double crf, q;
};

std::vector<Point> points(std::vector<QualityProbe> probes, const std::string& metric) {
  std::sort(probes.begin(), probes.end(), [](const auto& a, const auto& b) { return a.crf < b.crf; });
  std::vector<Point> p;
  for (const auto& x : probes) p.push_back({x.crf, score_domain(metric, x.score)});
  return p;
}

// Slope of the two points nearest the target in score; the typical one if they rise or coincide.
double local_slope(const std::vector<Point>& p, double qt, const std::string& metric) {
  if (p.size() < 2) return typical_slope(metric);
  std::vector<Point> near = p;
  std::sort(near.begin(), near.end(),
            [qt](const Point& a, const Point& b) { return std::abs(a.q - qt) < std::abs(b.q - qt); });
  const double dc = near[1].crf - near[0].crf;
  if (std::abs(dc) < 1e-9) return typical_slope(metric);
  const double slope = (near[1].q - near[0].q) / dc;
  // Noise can flatten or invert a close pair; a slope far off the typical one would send the next probe
  // out of the range.
  if (slope > -0.05 * std::abs(typical_slope(metric))) return typical_slope(metric);
  return slope;
}

// Where the probes aim, in the search's domain: the target less what finals score over their probes.
double probe_goal(const CrfSearch& s) {
  return score_domain(s.metric, s.target) - s.probe_offset;
}

}  // namespace

double score_domain(const std::string& metric, double score) {
  if (metric == "ssim") return -10 * std::log10(std::max(1e-7, 1 - score));
  return score;
}

double score_from_domain(const std::string& metric, double q) {
  if (metric == "ssim") return 1 - std::pow(10.0, -q / 10);
  return q;
}

double predict_score(const std::vector<QualityProbe>& probes, double crf, const CrfSearch& s) {
  if (probes.empty()) return 0;
  const auto p = points(probes, s.metric);
  for (std::size_t i = 0; i + 1 < p.size(); ++i)
    if (p[i].crf <= crf && crf <= p[i + 1].crf && p[i + 1].crf > p[i].crf)
      return score_from_domain(
          s.metric,
          p[i].q + (crf - p[i].crf) * (p[i + 1].q - p[i].q) / (p[i + 1].crf - p[i].crf) + s.probe_offset);
  const double qt = probe_goal(s);
  const Point* nearest = &p[0];
  for (const auto& x : p)
    if (std::abs(x.crf - crf) < std::abs(nearest->crf - crf)) nearest = &x;
  return score_from_domain(s.metric,
                           nearest->q + (crf - nearest->crf) * local_slope(p, qt, s.metric) + s.probe_offset);
}

double predict_crf(const std::vector<QualityProbe>& probes, const CrfSearch& s) {
  if (probes.empty()) return clamp_round(s.first_crf, s);
  const auto p = points(probes, s.metric);
  const double qt = probe_goal(s);
  for (std::size_t i = 0; i + 1 < p.size(); ++i) {
    const Point& a = p[i];
    const Point& b = p[i + 1];
    if ((a.q - qt) * (b.q - qt) <= 0 && a.q != b.q)
      return clamp_round(a.crf + (qt - a.q) * (b.crf - a.crf) / (b.q - a.q), s);
  }
  // Not bracketed: from the probe nearest the target, along the local slope.
  const Point* nearest = &p[0];
  for (const auto& x : p)
    if (std::abs(x.q - qt) < std::abs(nearest->q - qt)) nearest = &x;
  return clamp_round(nearest->crf + (qt - nearest->q) / local_slope(p, qt, s.metric), s);
}

std::optional<double> next_probe(const std::vector<QualityProbe>& probes, const CrfSearch& s) {
  if (probes.empty()) return clamp_round(s.first_crf, s);
  if (static_cast<int>(probes.size()) >= s.max_probes) return std::nullopt;
  const double qt = probe_goal(s);
  const double goal = score_from_domain(s.metric, qt);
  for (const auto& x : probes)
    if (std::abs(x.score - goal) <= s.tolerance / 2) return std::nullopt;
  const auto p = points(probes, s.metric);
  for (std::size_t i = 0; i + 1 < p.size(); ++i)
    if ((p[i].q - qt) * (p[i + 1].q - qt) <= 0 && p[i + 1].crf - p[i].crf <= 2.0) return std::nullopt;
  const double c = predict_crf(probes, s);
  for (const auto& x : probes) {
    if (std::abs(x.crf - c) < 0.1) return std::nullopt;  // at a range end already probed, or pinned down
  }
  return c;
}

double corrected_crf(const std::vector<QualityProbe>& probes, const std::vector<QualityProbe>& finals,
                     const CrfSearch& s) {
  const double qt = score_domain(s.metric, s.target);
  const double crf = finals.back().crf;
  const double q = score_domain(s.metric, finals.back().score);
  // The finals measure the segment itself: once there are two, their slope is the better one.
  const double slope = finals.size() >= 2 ? local_slope(points(finals, s.metric), qt, s.metric)
                                          : local_slope(points(probes, s.metric), qt, s.metric);
  double next = crf + (qt - q) / slope;
  // Two finals on either side of the target: the CRF between them, however close. (The least step below
  // sent a noisy segment whose scores change 0.01 SSIM per CRF back onto the CRF it had just left.)
  const auto f = points(finals, s.metric);
  for (std::size_t i = 0; i + 1 < f.size(); ++i)
    if ((f[i].q - qt) * (f[i + 1].q - qt) < 0)
      return clamp_round(f[i].crf + (qt - f[i].q) * (f[i + 1].crf - f[i].crf) / (f[i + 1].q - f[i].q), s);
  // At least a quarter step in the right direction (a whole one for hardware): a tiny correction would
  // change nothing.
  const double least = s.whole_steps ? 1 : 0.25;
  if (std::abs(next - crf) < least) next = crf + (q > qt ? least : -least);
  return clamp_round(next, s);
}

double pool_scores(std::vector<double> frames, const std::string& pool) {
  if (frames.empty()) return 0;
  if (pool == "min") return *std::min_element(frames.begin(), frames.end());
  if (pool == "p5") {
    std::sort(frames.begin(), frames.end());
    // Nearest rank: the value below which 5 % of the frames lie.
    const std::size_t k = static_cast<std::size_t>(std::ceil(0.05 * static_cast<double>(frames.size())));
    return frames[std::max<std::size_t>(k, 1) - 1];
  }
  double sum = 0;
  for (double f : frames) sum += f;
  return sum / static_cast<double>(frames.size());
}

}  // namespace pvt
