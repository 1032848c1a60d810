#include "segment_plan.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "error.hpp"

namespace pvt {

namespace {

// Per-frame demand: from the analysis when there is one (detail + motion), else from the compressed
// size, which for a quality-targeted source is the encoder's own measure of complexity.
std::vector<double> frame_demand(const MediaInfo& info, const Analysis* analysis) {
  const std::size_t n = info.frames.size();
  std::vector<double> x(n, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    if (analysis && analysis->frames.size() == n)
      x[i] = analysis->frames[i].spatial + 2 * analysis->frames[i].temporal;
    else
      x[i] = info.frames[i].size;
  }
  double mean = 0;
  for (double v : x) mean += v;
  mean = n ? mean / n : 1;
  for (double& v : x) v = mean > 0 ? v / mean : 1.0;
  return x;
}

}  // namespace

Plan plan_segments(const MediaInfo& info, const Analysis* analysis, const PlanOptions& options) {
  if (!(options.target_s > 0)) throw Error(ErrorCode::kUsage, "segment duration must be positive");
  Plan plan;
  plan.basis = analysis ? "analysis" : "index";
  const double duration = info.video_duration_s();
  double target = options.target_s;
  if (options.shrink_for_workers && options.workers > 0) {
    const double per_worker = duration / (2.0 * options.workers);
    if (per_worker < target) target = std::max(std::min(options.shortest_s, target), per_worker);
  }
  const double scale = target / options.target_s;
  plan.target_s = target;
  plan.min_s = options.min_s > 0 ? options.min_s * scale : target / 2;
  plan.max_s = options.max_s > 0 ? options.max_s * scale : target * 1.5;
  if (plan.min_s > plan.max_s) throw Error(ErrorCode::kUsage, "minimum segment length exceeds the maximum");

  const int n = static_cast<int>(info.frames.size());
  auto t = [&](int f) { return f < n ? info.seconds(info.frames[f].pts - info.start_pts()) : duration; };

  // Candidate strength per frame: scene cuts beat keyframes; the plain length cut gets no bonus.
  std::map<int, double> bonus;
  for (int k : info.keyframes)
    if (k > 0) bonus[k] = 0.5;
  std::map<int, double> scene_score;
  if (analysis)
    for (const auto& c : analysis->cuts) {
      bonus[c.frame] = 1.0 + c.score;
      scene_score[c.frame] = c.score;
    }

  std::vector<std::pair<int, std::string>> starts{{0, "start"}};
  int pos = 0;
  while (duration - t(pos) > plan.max_s) {
    const double lo = t(pos) + plan.min_s;
    const double hi = std::min(t(pos) + plan.max_s, duration - plan.min_s);
    const double want = t(pos) + target;
    int best = -1;
    double best_value = -1e9;
    for (auto it = bonus.lower_bound(pos + 1); it != bonus.end() && t(it->first) <= hi; ++it) {
      if (t(it->first) < lo) continue;
      const double value = it->second - std::abs(t(it->first) - want) / target;
      if (value > best_value) {
        best_value = value;
        best = it->first;
      }
    }
    std::string reason;
    if (best < 0) {
      // No candidate in the window: the frame nearest the target length.
      best = pos + 1;
      while (best < n - 1 && t(best) < want) ++best;
      reason = "length";
    } else {
      reason = scene_score.count(best) ? "scene" : "keyframe";
    }
    if (best <= pos || best >= n) break;
    starts.emplace_back(best, reason);
    pos = best;
  }

  const auto demand = frame_demand(info, analysis);
  double total_weight = 0;
  for (std::size_t s = 0; s < starts.size(); ++s) {
    Segment seg;
    seg.index = static_cast<int>(s);
    seg.start_frame = starts[s].first;
    seg.end_frame = s + 1 < starts.size() ? starts[s + 1].first : n;
    seg.cut_reason = starts[s].second;
    seg.start_pts = info.frames[seg.start_frame].pts;
    seg.end_pts = seg.end_frame < n ? info.frames[seg.end_frame].pts : info.end_pts();
    seg.seek_keyframe = keyframe_at_or_before(info, seg.start_frame);
    seg.start_s = t(seg.start_frame);
    seg.duration_s = info.seconds(seg.end_pts - seg.start_pts);
    for (int f = seg.start_frame; f < seg.end_frame; ++f) {
      seg.cost += 0.5 + 0.5 * demand[f];
      // Bits grow sub-linearly with complexity (as x264's qcompress assumes).
      seg.complexity += std::pow(std::max(demand[f], 0.05), 0.6);
    }
    // Frames decoded only to be dropped (a cut between keyframes) cost decode time too.
    seg.cost += 0.15 * (seg.start_frame - seg.seek_keyframe);
    if (analysis)
      for (const auto& c : analysis->cuts)
        if (c.frame > seg.start_frame && c.frame < seg.end_frame) seg.forced_keyframes.push_back(c.frame);
    total_weight += seg.complexity;
    plan.segments.push_back(std::move(seg));
  }
  if (options.total_bits > 0) {
    for (auto& seg : plan.segments)
      seg.bit_budget =
          static_cast<std::int64_t>(static_cast<double>(options.total_bits) * seg.complexity / total_weight);
  }
  return plan;
}

}  // namespace pvt
