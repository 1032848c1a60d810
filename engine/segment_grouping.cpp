#include "segment_grouping.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace pvt {

namespace {

// Groups longer than max_s (the last takes whatever the cost shares left it, and a cheap stretch may be
// long) split into equal spans at the piece boundaries nearest them. `start_s(i)`: where piece i starts.
template <typename StartFn>
std::vector<int> split_long_groups(const std::vector<int>& ends, StartFn start_s, double max_s) {
  std::vector<int> out;
  int first = 0;
  for (int end : ends) {
    const double span = start_s(end) - start_s(first);
    const int parts = max_s > 0 ? static_cast<int>(std::ceil(span / max_s - 1e-9)) : 1;
    for (int k = 1; k < parts; ++k) {
      const double at = start_s(first) + span * k / parts;
      int cut = out.empty() ? first + 1 : std::max(out.back() + 1, first + 1);
      while (cut + 1 < end && start_s(cut + 1) <= at) ++cut;
      if (cut < end) out.push_back(cut);
    }
    out.push_back(end);
    first = end;
  }
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Where each work segment ends: piece indices (exclusive) so that the groups' costs follow `shares`, each
// group at least one piece, no group longer than max_s unless one piece is.
std::vector<int> group_ends(const Plan& pieces, const std::vector<double>& shares, double max_s) {
  const int n = static_cast<int>(pieces.segments.size());
  const int groups = static_cast<int>(shares.size());
  std::vector<double> cum(n + 1, 0);
  for (int i = 0; i < n; ++i) cum[i + 1] = cum[i] + pieces.segments[i].cost;
  auto start_s = [&](int i) {
    return i < n ? pieces.segments[i].start_s
                 : pieces.segments[n - 1].start_s + pieces.segments[n - 1].duration_s;
  };
  std::vector<int> ends;
  int prev = 0;
  double want = 0;
  for (int g = 0; g + 1 < groups; ++g) {
    want += shares[g];
    const int last = n - (groups - g - 1);  // leave a piece for every group still to come
    int best = prev + 1;
    for (int i = prev + 1; i <= last; ++i) {
      if (i > prev + 1 && start_s(i) - start_s(prev) > max_s) break;
      if (std::abs(cum[i] - want) < std::abs(cum[best] - want)) best = i;
    }
    ends.push_back(best);
    prev = best;
  }
  ends.push_back(n);
  return split_long_groups(ends, start_s, max_s);
}

Segment merge(const Plan& pieces, int first, int end, int index) {
  const auto& segs = pieces.segments;
  Segment g = segs[first];
  g.index = index;
  g.end_frame = segs[end - 1].end_frame;
  g.end_pts = segs[end - 1].end_pts;
  g.forced_keyframes.clear();
  g.cost = g.content_cost = g.complexity = g.duration_s = 0;
  g.bit_budget = 0;
  for (int i = first; i < end; ++i) {
    const Segment& p = segs[i];
    g.duration_s += p.duration_s;
    g.complexity += p.complexity;
    g.content_cost += p.content_cost;
    g.bit_budget += p.bit_budget;
    // A piece's cost counts the frames decoded only to reach it from its keyframe: inside a group the
    // worker decodes straight through.
    g.cost += p.cost - (i > first ? 0.15 * (p.start_frame - p.seek_keyframe) : 0);
    if (i > first) {
      g.piece_starts.push_back(p.start_frame);
      g.forced_keyframes.push_back(p.start_frame);
    }
    g.forced_keyframes.insert(g.forced_keyframes.end(), p.forced_keyframes.begin(), p.forced_keyframes.end());
  }
  std::sort(g.forced_keyframes.begin(), g.forced_keyframes.end());
  g.forced_keyframes.erase(std::unique(g.forced_keyframes.begin(), g.forced_keyframes.end()),
                           g.forced_keyframes.end());
  return g;
}

}  // namespace

Plan group_playlist_segments(const Plan& pieces, const GroupOptions& options) {
  const int n = static_cast<int>(pieces.segments.size());
  if (options.workers <= 0 || n == 0) return pieces;
  const Segment& tail = pieces.segments.back();
  const double duration = tail.start_s + tail.duration_s - pieces.segments.front().start_s;
  int wanted = options.workers * std::max(1, options.segments_per_worker);
  if (options.max_s > 0) wanted = std::max(wanted, static_cast<int>(std::ceil(duration / options.max_s)));
  // As in a balanced file plan, the last `workers` shares go in halves so the last wave ends together.
  const bool split_tail = wanted >= 3 * options.workers;
  const int groups = split_tail ? wanted + options.workers : wanted;
  if (groups >= n) return pieces;

  double total = 0;
  for (const auto& s : pieces.segments) total += s.cost;
  const double unit = total / wanted;
  std::vector<double> shares(groups, unit);
  if (split_tail)
    for (int g = groups - 2 * options.workers; g < groups; ++g) shares[g] = unit / 2;

  Plan plan = pieces;
  plan.segments.clear();
  plan.target_cost = unit;
  int first = 0;
  for (int end : group_ends(pieces, shares, options.max_s)) {
    plan.segments.push_back(merge(pieces, first, end, static_cast<int>(plan.segments.size())));
    first = end;
  }
  return plan;
}

}  // namespace pvt
