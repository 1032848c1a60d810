#include "last_wave.hpp"

#include <algorithm>
#include <cstddef>

namespace pvt {

double longest_first_makespan(std::vector<double> costs, int workers) {
  std::sort(costs.begin(), costs.end(), std::greater<>());
  std::vector<double> busy(static_cast<std::size_t>(std::max(1, workers)), 0.0);
  for (double c : costs) *std::min_element(busy.begin(), busy.end()) += c;
  return *std::max_element(busy.begin(), busy.end());
}

// The cuts can leave the last wave uneven (7 equal pieces for 2 workers: one worker runs the seventh alone).
// While the estimated finish is over `accepted_overrun` (3 % by default) past an even share, one more cut
// goes where it brings the longest-first finish earliest: into one of the costliest segments long enough for
// two, at the frame that finishes first, counting the frames a cut between keyframes decodes only to drop, so
// a keyframe wins a near tie (the BBB 1080p upscale's cost-midpoint cut decoded 21 frames only to drop them).
// A cut that does not bring the finish earlier is not made, and there is at most one extra cut per worker,
// each an IDR a single encode would not have.
void even_out_last_wave(std::vector<std::pair<int, std::string>>& starts, int frames,
                        const std::function<double(int)>& t, const std::function<bool(int)>& is_keyframe,
                        const std::function<double(int, int)>& cost, double min_s, int workers,
                        double accepted_overrun) {
  // The segments tried for a cut, costliest first: enough to find the one that helps, few enough that a
  // long clip's hundreds of segments stay quick to plan.
  constexpr std::size_t kTried = 8;
  auto end_of = [&](std::size_t s) { return s + 1 < starts.size() ? starts[s + 1].first : frames; };
  for (int extra = 0; extra < workers; ++extra) {
    std::vector<double> costs;
    for (std::size_t s = 0; s < starts.size(); ++s) costs.push_back(cost(starts[s].first, end_of(s)));
    double even = 0;
    for (double c : costs) even += c;
    even /= workers;
    const double finish_now = longest_first_makespan(costs, workers);
    if (finish_now <= (1 + accepted_overrun) * even) return;
    std::vector<std::size_t> tried;
    for (std::size_t s = 0; s < starts.size(); ++s)
      if (t(end_of(s)) - t(starts[s].first) >= 2 * min_s) tried.push_back(s);
    std::sort(tried.begin(), tried.end(), [&](std::size_t a, std::size_t b) { return costs[a] > costs[b]; });
    if (tried.size() > kTried) tried.resize(kTried);
    // Every allowed cut's finish and what its two pieces add to the cost; then, of the cuts finishing
    // within 0.5 % of an even share of the earliest, the one decoding least.
    struct Option {
      std::size_t segment;
      int frame;
      double finish, added;
    };
    std::vector<Option> options;
    double earliest = finish_now;
    for (std::size_t s : tried) {
      const int from = starts[s].first, to = end_of(s);
      for (int f = from + 1; f < to; ++f) {
        if (t(f) - t(from) < min_s || t(to) - t(f) < min_s) continue;
        std::vector<double> split = costs;
        split[s] = cost(from, f);
        split.push_back(cost(f, to));
        const double finish = longest_first_makespan(split, workers);
        earliest = std::min(earliest, finish);
        options.push_back({s, f, finish, split[s] + split.back() - costs[s]});
      }
    }
    if (!(earliest < finish_now - 0.005 * even)) return;
    const Option* cut = nullptr;
    for (const auto& o : options)
      if (o.finish <= earliest + 0.005 * even && (!cut || o.added < cut->added)) cut = &o;
    starts.insert(starts.begin() + static_cast<std::ptrdiff_t>(cut->segment) + 1,
                  {cut->frame, is_keyframe(cut->frame) ? "keyframe" : "length"});
  }
}

}  // namespace pvt
