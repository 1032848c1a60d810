#include "segment_plan.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "error.hpp"
#include "last_wave.hpp"
#include "segment_grouping.hpp"

namespace pvt {

namespace {

// The share of a frame's estimated encode cost that does not depend on its content (see plan_segments).
constexpr double kFixedFrameCost = 0.3;

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

// What cutting costs in bits. Every segment opens with an IDR; a single encode puts I-frames at scene
// changes anyway, so a cut there is free, and a cut anywhere else adds about one I-frame's bits more than
// the P-frame it replaces. The source's own frames tell both: the mean keyframe packet over the mean
// other packet gives the extra bits (as a share of the whole), and keyframes off the source's regular
// interval are where its encoder saw a scene change (a camera's fixed GOP has none).
// Measured (benchmarks/bd_rate.py, x264 veryfast, 2 workers): a static 30 s camera clip cut into 10
// segments cost +7.7 % BD-rate, into 3 +1.4 %.
// For an encoder that keys no scene change itself (libaom), a cut at one is not free but cheaper: the
// frame there is costly as an inter frame too. Measured (BBB 60 s 640x360, libaom cpu-used 8, CRF 30,
// one cut): +0.94 % bytes at a scene-change keyframe (32.0 s), +1.75 % at a frame 4 s earlier, PSNR
// within 0.006 dB. Such a cut is worth a tenth of a segment's cost off the balanced point, no more:
// with one segment per worker the offset is wall time.
constexpr double kCheapCutBonus = 0.1;

// A source's regular keyframe is a cheaper cut than the frames around it for every encoder: the source's
// I-frame carries other coding noise than the P-frames before it, so the encoder pays for it as an inter
// frame too, and a low-bitrate camera's keyframes stand out ("pulse"): ffmpeg's scdet scores the shared
// car clip's keyframes 0.28-0.80 against about 0.05 for the frames around them, and a single x264 encode
// puts an I-frame of its own next to one of them (frame 181, the source's at 180). Cut 7 frames off it at
// the balanced point (173), pvt lost 0.05 dB at the same bytes; cut at 180, BD-rate against the single
// encode (x264 medium, CRF 18-33) went from +1.23 % to +0.11 %. It is worth 5 % of a segment's cost off
// the balanced point: the cost estimate misses a segment's real cost by 13-17 % on average, so with two
// segments such an offset adds under 1 % to the expected finish.
constexpr double kSourceKeyframeCutBonus = 0.05;

// How far the cost estimate misses a segment's real cost, on average (13-17 % measured; see above).
constexpr double kEstimateError = 0.15;

// A source with long GOPs next to the pieces a balance wants (a 30 s clip from an encoder's default
// 250-frame GOP, cut for 2 workers into 8): most cuts fall between keyframes, and the frames their workers
// decode to drop outweigh what the finer pieces even out. Measured on such a clip (1080p, x264 ultrafast,
// 2 workers): 10 pieces decoded 1,021 frames to drop and took 1.28x plain ffmpeg's wall time; 4 pieces at
// or next to its keyframes decoded 150 and took 1.00-1.05x.
// The model: S pieces on W workers finish at about T/W (T the total cost), plus the decoding each length
// cut adds (half a GOP of dropped frames, c = dropped_cost * GOP / 2) spread over the workers, (S-1) c / W,
// plus what the estimate misses in the last wave, which the pool's dispatch cannot even out any more,
// kEstimateError * T / S. That is least at S = sqrt(kEstimateError * T * W / c); fewer pieces than wanted
// only where the GOP makes that smaller (a 2 s GOP at 25 fps, 900 frames, 2 workers: 8.5, so no change).
int pieces_for_gop(const MediaInfo& info, double total_cost, int wanted, int workers, double dropped_cost) {
  const auto keys = static_cast<double>(info.keyframes.size());
  if (keys <= 0 || dropped_cost <= 0 || wanted <= workers) return wanted;
  const double lead_in = dropped_cost * (static_cast<double>(info.frames.size()) / keys) / 2;
  const double best = std::sqrt(kEstimateError * total_cost * workers / lead_in);
  return std::clamp(static_cast<int>(std::lround(best)), workers, wanted);
}

struct CutEconomy {
  double idr_cost_share = 0;
  std::set<int> free_cuts;
  std::set<int> scene_cuts;  // where the source's encoder or the analysis saw a scene change
};

CutEconomy cut_economy(const MediaInfo& info, const Analysis* analysis, bool scene_cuts_free) {
  CutEconomy e;
  double key_bytes = 0, other_bytes = 0;
  int other = 0;
  for (const auto& f : info.frames) {
    if (f.keyframe) {
      key_bytes += f.size;
    } else {
      other_bytes += f.size;
      ++other;
    }
  }
  const int keys = static_cast<int>(info.frames.size()) - other;
  const double total = key_bytes + other_bytes;
  if (keys > 0 && other > 0 && total > 0)
    e.idr_cost_share = std::max(0.0, key_bytes / keys - other_bytes / other) / total;
  int max_gap = 0;
  for (std::size_t k = 1; k < info.keyframes.size(); ++k)
    max_gap = std::max(max_gap, info.keyframes[k] - info.keyframes[k - 1]);
  for (std::size_t k = 1; k < info.keyframes.size(); ++k)
    if (info.keyframes[k] - info.keyframes[k - 1] < max_gap) e.scene_cuts.insert(info.keyframes[k]);
  if (analysis)
    for (const auto& c : analysis->cuts) e.scene_cuts.insert(c.frame);
  if (scene_cuts_free) e.free_cuts = e.scene_cuts;
  return e;
}

// When the workers take the segments longest first (as the pool does), when the last one finishes, in
// units of estimated cost.
}  // namespace

double dropped_frame_cost_for_preset(const std::string& preset) {
  // veryfast keeps the 0.15 the cost model was first fitted with (0.16 measured here).
  static const std::map<std::string, double> kByPreset = {
      {"ultrafast", 0.4}, {"superfast", 0.28}, {"veryfast", 0.15}, {"faster", 0.12},   {"fast", 0.1},
      {"medium", 0.075},  {"slow", 0.05},      {"slower", 0.03},   {"veryslow", 0.02}, {"placebo", 0.01}};
  const auto it = kByPreset.find(preset);
  return it != kByPreset.end() ? it->second : 0.15;
}

Plan plan_segments(const MediaInfo& info, const Analysis* analysis, const PlanOptions& options) {
  if (!(options.target_s > 0)) throw Error(ErrorCode::kUsage, "segment duration must be positive");
  Plan plan;
  plan.basis = analysis ? "analysis" : "index";
  const double duration = info.video_duration_s();
  const int n = static_cast<int>(info.frames.size());
  auto t = [&](int f) { return f < n ? info.seconds(info.frames[f].pts - info.start_pts()) : duration; };
  const auto demand = frame_demand(info, analysis);
  // What a frame costs a worker to encode: the planner's estimate (benchmarks/plan_balance.py compares it
  // with the measured CPU time per segment).
  std::vector<double> cum(static_cast<std::size_t>(n) + 1, 0);
  // Weights fitted by least squares on the workers' measured CPU per segment (x264 veryfast, index basis):
  // the encoder's CPU follows the bits more than the frame count. A fixed share of 0.3 per frame fits both
  // the uneven 720p clip of plan_balance.py (mean error 4 %, against 7.5 % with 0.15) and the BBB 1080p
  // upscale (11 %, against 16 %); the fits alone gave 0.25 and 0.44.
  for (int f = 0; f < n; ++f) cum[f + 1] = cum[f] + kFixedFrameCost + (1 - kFixedFrameCost) * demand[f];

  const bool balance = options.shrink_for_workers && options.workers > 0;
  const CutEconomy economy = cut_economy(info, analysis, options.encoder_keys_scene_changes);
  plan.idr_cost_share = economy.idr_cost_share;
  double target = options.target_s;
  // Balancing: as many pieces as the workers want, or fewer when their IDRs would cost more bits than
  // the budget allows (never fewer than one per worker).
  int wanted = 1;
  bool cuts_costly = false;
  if (balance) {
    wanted = options.workers * std::max(1, options.segments_per_worker);
    if (economy.idr_cost_share > 0) {
      const int paid = static_cast<int>(options.idr_budget / economy.idr_cost_share);
      const int affordable = 1 + static_cast<int>(economy.free_cuts.size()) + paid;
      cuts_costly = affordable < wanted;
      wanted = std::max(options.workers, std::min(wanted, affordable));
    }
    wanted = pieces_for_gop(info, cum[n], wanted, options.workers, options.dropped_frame_cost);
  }
  plan.min_s = options.min_s > 0 ? options.min_s : (balance ? std::min(1.0, target / 2) : target / 2);
  plan.max_s = options.max_s > 0 ? options.max_s : target * 1.5;
  // Then the pieces may be longer (up to a minute) when one per worker needs it: a short clip on few
  // workers would otherwise be cut into more pieces than it has workers for, an IDR each.
  if (cuts_costly && options.max_s <= 0)
    plan.max_s = std::max(plan.max_s, std::min(60.0, 1.25 * duration / options.workers));
  if (plan.min_s > plan.max_s) throw Error(ErrorCode::kUsage, "minimum segment length exceeds the maximum");
  if (balance) {
    wanted = std::max(wanted, static_cast<int>(std::ceil(duration / plan.max_s)));
    wanted = std::min(wanted, std::max(1, static_cast<int>(duration / (2 * plan.min_s))));
    target = duration / wanted;
    plan.target_cost = cum[n] / wanted;
  }
  plan.target_s = target;

  // Candidate strength per frame: scene cuts beat the source's scene-change keyframes, which beat its
  // regular ones (free to seek to, but an IDR a single encode would not have); a length cut gets none.
  // Balancing, a regular keyframe is worth kSourceKeyframeCutBonus for its bits, or the decoding it saves
  // against the length cut it competes with when that is more (decoding_saved below): a keyframe far off
  // the balanced point wins only where the GOP is long enough to pay for it.
  const double regular_bonus = balance ? kSourceKeyframeCutBonus : 0.4;
  std::map<int, double> bonus;
  for (int k : info.keyframes)
    if (k > 0)
      bonus[k] = economy.free_cuts.count(k)    ? 0.8
                 : economy.scene_cuts.count(k) ? std::max(regular_bonus, kCheapCutBonus)
                                               : regular_bonus;
  std::map<int, double> scene_score;
  if (analysis)
    for (const auto& c : analysis->cuts) {
      bonus[c.frame] = 1.0 + c.score;
      scene_score[c.frame] = c.score;
    }

  // The last `workers` shares of the cost go in half-size segments: whatever the estimate missed, the
  // workers' last pieces are short, so they finish together.
  // Only where there are pieces to spare (three or more per worker): with fewer, halving the tail would
  // add IDRs (and short rate-control windows) for little gain.
  const bool split_tail = balance && wanted >= 3 * options.workers;
  const double tail_from = split_tail ? cum[n] - plan.target_cost * options.workers : cum[n] + 1;
  // Pieces the rest is cut into, and so each one's share: whole targets until the tail, then halves.
  auto pieces_left = [&](int pos) {
    const double rest = cum[n] - cum[pos];
    const double unit = cum[pos] >= tail_from ? plan.target_cost / 2 : plan.target_cost;
    return std::max(1L, std::lround(rest / unit));
  };
  auto cost_share = [&](int pos) {
    return cum[pos] >= tail_from ? (cum[n] - cum[pos]) / static_cast<double>(pieces_left(pos))
                                 : plan.target_cost;
  };
  auto more_to_cut = [&](int pos) {
    if (duration - t(pos) > plan.max_s) return true;
    return balance && pieces_left(pos) > 1 && duration - t(pos) >= 2 * plan.min_s;
  };

  std::vector<std::pair<int, std::string>> starts{{0, "start"}};
  int pos = 0;
  while (more_to_cut(pos)) {
    double lo = t(pos) + plan.min_s;
    const double hi = std::min(t(pos) + plan.max_s, duration - plan.min_s);
    // Leave no more than the pieces still planned can hold: an early cut would force one more.
    if (balance && pieces_left(pos) > 1) {
      const double fits = duration - plan.max_s * static_cast<double>(pieces_left(pos) - 1);
      if (fits <= hi) lo = std::max(lo, fits);
    }
    // Where the cut would ideally fall: the target length, or the frame where the cost share is reached.
    const double want_cost = cum[pos] + cost_share(pos);
    int want_frame = pos + 1;
    if (balance)
      while (want_frame < n - 1 && cum[want_frame] < want_cost) ++want_frame;
    const double want = balance ? t(want_frame) : t(pos) + target;
    auto distance = [&](int f) {
      return balance ? std::abs(cum[f] - want_cost) / plan.target_cost : std::abs(t(f) - want) / target;
    };
    // The fallback: the frame nearest the target, within the bounds. Balancing, it is not free: its
    // worker decodes from the keyframe before it, and a source keyframe is worth at least that decoding.
    int by_length = pos + 1;
    while (by_length < n - 1 && (t(by_length) < std::max(want, lo))) ++by_length;
    while (by_length > pos + 1 && t(by_length) > hi) --by_length;
    const double decoding_saved = balance ? options.dropped_frame_cost *
                                                (by_length - keyframe_at_or_before(info, by_length)) /
                                                plan.target_cost
                                          : 0;
    int best = -1;
    double best_value = -1e9;
    for (auto it = bonus.lower_bound(pos + 1); it != bonus.end() && t(it->first) <= hi; ++it) {
      if (t(it->first) < lo) continue;
      const bool source_keyframe = keyframe_at_or_before(info, it->first) == it->first;
      const double worth = source_keyframe ? std::max(it->second, decoding_saved) : it->second;
      const double value = worth - distance(it->first);
      if (value > best_value) {
        best_value = value;
        best = it->first;
      }
    }
    std::string reason;
    if (best < 0 || (balance && best_value < 0)) {
      best = by_length;
      reason = "length";
    } else {
      reason = scene_score.count(best) ? "scene" : "keyframe";
    }
    if (best <= pos || best >= n) break;
    starts.emplace_back(best, reason);
    pos = best;
  }

  // A segment's estimated cost: its frames, and those decoded only to be dropped (a cut between keyframes).
  auto segment_cost = [&](int from, int to) {
    return cum[to] - cum[from] + options.dropped_frame_cost * (from - keyframe_at_or_before(info, from));
  };
  auto is_keyframe = [&](int f) { return keyframe_at_or_before(info, f) == f; };
  // Where a cut was taken at a keyframe, the last wave may finish as far past an even share as its bonus
  // moves it (with one segment per worker, the whole offset); only what lies beyond that is evened out.
  if (balance) {
    const bool keyframe_cut =
        std::any_of(starts.begin(), starts.end(), [](const auto& s) { return s.second == "keyframe"; });
    even_out_last_wave(starts, n, t, is_keyframe, segment_cost, plan.min_s, options.workers,
                       keyframe_cut ? kSourceKeyframeCutBonus : kEvenFinishTolerance);
  }

  double total_weight = 0;
  for (std::size_t s = 0; s < starts.size(); ++s) {
    Segment seg;
    seg.index = static_cast<int>(s);
    seg.start_frame = starts[s].first;
    seg.end_frame = s + 1 < starts.size() ? starts[s + 1].first : n;
    seg.cut_reason = starts[s].second;
    if (s > 0 && !economy.free_cuts.count(seg.start_frame)) ++plan.paid_cuts;
    seg.start_pts = info.frames[seg.start_frame].pts;
    seg.end_pts = seg.end_frame < n ? info.frames[seg.end_frame].pts : info.end_pts();
    seg.seek_keyframe = keyframe_at_or_before(info, seg.start_frame);
    seg.start_s = t(seg.start_frame);
    seg.duration_s = info.seconds(seg.end_pts - seg.start_pts);
    seg.cost = segment_cost(seg.start_frame, seg.end_frame);
    for (int f = seg.start_frame; f < seg.end_frame; ++f) {
      seg.content_cost += (1 - kFixedFrameCost) * demand[f];
      // Bits grow sub-linearly with complexity (as x264's qcompress assumes).
      seg.complexity += std::pow(std::max(demand[f], 0.05), 0.6);
    }
    if (analysis && options.encoder_keys_scene_changes)
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
  if (options.group_playlist && !balance)
    return group_playlist_segments(plan, {options.workers, options.segments_per_worker});
  return plan;
}

}  // namespace pvt
