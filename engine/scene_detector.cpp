#include "scene_detector.hpp"

#include <algorithm>

#include "scene_metrics.hpp"

namespace pvt {
namespace {

// Frames after a frame that its judgement looks at: ±2 for the excess neighbourhood, up to 4 for a flash.
constexpr int kLag = 4;
// The longest dissolve, and how far back a fade-out is followed: 2.5 s at 25 fps. Longer runs are motion.
constexpr int kMaxTransition = 64;
constexpr int kHistory = kMaxTransition + 2 * kLag + 2;
// A frame is black (white) when nearly all its samples are below 32 (at or above 224).
constexpr double kBlackFraction = 0.97;
// A fade's frames each change the mean luma by at least this much. A fade has a fade-out of kMinFadeOut
// frames or more, or kMinDarkRun black frames (a dip to black); fewer are a flash.
constexpr double kFadeStep = 0.25;
constexpr int kMinFadeOut = 3;
constexpr int kMinDarkRun = 6;
// A dissolve's frames each change the histogram by at least this much; at least kMinDissolve of them.
constexpr double kDissolveLow = 0.012;
constexpr int kMinDissolve = 6;
// ... and at least kDissolveRise times the mean change of the kBaseline frames before the run.
constexpr double kDissolveRise = 2.0;
constexpr int kBaseline = 8;
// ... its end differs from its start by this share of the hard-cut threshold, and the change goes one way:
// at least this share of the per-frame changes adds up to the change from start to end (motion wanders).
constexpr double kDissolveChange = 0.7;
constexpr double kDissolveDirectness = 0.1;
// ... and its pixels change no more than before it (this many times, plus a little for still shots).
constexpr double kDissolveMotion = 1.25;
constexpr double kDissolveMotionSlack = 0.5;
// A histogram cut's excess difference against its neighbours' mean.
constexpr double kHistogramCutExcess = 1.5;
// A local replacement: at least this fraction of the samples change strongly, this many times the mean
// fraction of the kLag frames on each side (at least the floor: grain alone gives almost none), and the
// frame's excess difference is this many times its neighbourhood's (at least the floor, in levels). The
// next frame changes strongly in no more than this share as many samples (a flash would come back). And
// the change is concentrated: at least kLocalConcentration of the samples change strongly per level of
// excess difference, which a source keyframe's coding noise (a small change everywhere) does not reach.
// Measured (pvt analyze --per-frame, reduced planes at 320 and 640 wide): the pose change in the labelled
// set 0.94 % of samples against 0.03 % around it, 0.0039 per level; periodic keyframes of the 60 s sample
// 0.86-1.0 % against 0.1 %, but 0.0010-0.0011 per level; moving cars and crowds 2-4 % in every frame.
constexpr double kLocalChangeMin = 0.005;
constexpr double kLocalChangeRatio = 8.0;
constexpr double kLocalChangeFloor = 0.0005;
constexpr double kLocalExcessRatio = 2.0;
constexpr double kLocalExcessFloor = 0.5;
constexpr double kLocalChangeUndone = 0.25;
constexpr double kLocalConcentration = 0.002;
// A flash: the picture after the jump is no cut away from one before it (this share of the threshold).
constexpr double kFlashMatch = 1.0;

bool is_black_or_white(const SceneSignal& s) {
  return s.valid && (s.dark >= kBlackFraction || s.bright >= kBlackFraction);
}

}  // namespace

const char* cut_kind_name(CutKind kind) {
  switch (kind) {
    case CutKind::kHard:
      return "hard";
    case CutKind::kFade:
      return "fade";
    case CutKind::kDissolve:
      return "dissolve";
  }
  return "hard";
}

SceneDetector::SceneDetector(SceneDetectorOptions options, int first_frame)
    : options_(options), first_frame_(first_frame), last_cut_(first_frame), next_evaluated_(first_frame) {}

int SceneDetector::decision_delay() const {
  return options_.min_scene_frames + kLag;
}

const SceneSignal* SceneDetector::at(int frame) const {
  if (history_.empty()) return nullptr;
  const int i = frame - history_.front().frame;
  if (i < 0 || i >= static_cast<int>(history_.size())) return nullptr;
  return &history_[i];
}

std::vector<SceneCut> SceneDetector::push(const SceneSignal& signal) {
  std::vector<SceneCut> decided;
  // Frames in order: a gap is frames that were not decoded.
  int next = history_.empty() ? std::max(signal.frame, first_frame_) : history_.back().frame + 1;
  for (; next < signal.frame; ++next) history_.push_back(missing_signal(next));
  history_.push_back(signal);
  while (static_cast<int>(history_.size()) > kHistory) history_.pop_front();
  for (; next_evaluated_ <= signal.frame - kLag; ++next_evaluated_) evaluate(next_evaluated_, decided);
  return decided;
}

std::vector<SceneCut> SceneDetector::finish() {
  std::vector<SceneCut> decided;
  if (!history_.empty())
    for (; next_evaluated_ <= history_.back().frame; ++next_evaluated_) evaluate(next_evaluated_, decided);
  if (dissolve_ && history_.size() && dissolve_->last_active < history_.back().frame) close_dissolve();
  if (pending_) decided.push_back(*pending_);
  pending_.reset();
  return decided;
}

void SceneDetector::evaluate(int frame, std::vector<SceneCut>& decided) {
  if (pending_ && frame - pending_->frame >= options_.min_scene_frames) {
    decided.push_back(*pending_);
    last_cut_ = pending_->frame;
    pending_.reset();
  }
  const SceneSignal* s = at(frame);
  if (!s) return;
  if (frame == first_frame_) {  // never a cut, but it may start a black run
    if (options_.gradual) track_fade(*s);
    return;
  }
  if (options_.gradual) track_fade_in(*s);  // first: a fade-in's frames are not hard cuts
  const bool hard = is_hard_cut(*s);
  if (hard) offer({frame, s->hist_diff, CutKind::kHard, frame, frame});
  if (!options_.gradual) return;
  track_fade(*s);
  track_dissolve(*s, hard);
}

bool SceneDetector::is_hard_cut(const SceneSignal& s) const {
  if (!s.valid || !s.has_previous) return false;
  // Into black (or white) is not where a scene starts, nor is any frame of a fade-in: the first frame
  // after the run is (track_fade).
  if (options_.gradual && (is_black_or_white(s) || (fade_in_ && fade_in_->last == s.frame))) return false;
  const bool by_motion = s.excess_diff >= options_.min_excess &&
                         s.excess_diff >= options_.adaptive_ratio * neighbourhood_excess(s.frame);
  if (by_motion || is_local_replacement(s)) return true;
  // A histogram jump is a cut when it is not a brightness shift, and the pixels change more than around
  // it (a dissolve over flat colours moves histogram peaks across bins a little at a time).
  const bool by_histogram = s.hist_diff >= options_.threshold && s.shifted_diff >= options_.threshold / 2 &&
                            s.excess_diff >= kHistogramCutExcess * quieter_side_excess(s.frame);
  return by_histogram && !is_flash(s.frame);
}

// The excess differences of frames frame+a and frame+b that exist and were measured: their sum and count.
std::pair<double, int> SceneDetector::excess_of(int frame, int a, int b) const {
  double sum = 0;
  int n = 0;
  for (int k : {a, b}) {
    const SceneSignal* o = at(frame + k);
    if (!o || !o->valid || !o->has_previous || frame + k <= first_frame_) continue;
    sum += o->excess_diff;
    ++n;
  }
  return {sum, n};
}

// The mean excess difference of the two frames on each side.
double SceneDetector::neighbourhood_excess(int frame) const {
  const auto [before, nb] = excess_of(frame, -2, -1);
  const auto [after, na] = excess_of(frame, 1, 2);
  return nb + na ? (before + after) / (nb + na) : 0.0;
}

// The mean excess difference of the two frames before `frame` or of the two after it, whichever is
// smaller: a cut into (or out of) a shot that changes a lot in every frame still stands out from the other.
double SceneDetector::quieter_side_excess(int frame) const {
  const auto [before, nb] = excess_of(frame, -2, -1);
  const auto [after, na] = excess_of(frame, 1, 2);
  if (nb && na) return std::min(before / nb, after / na);
  return nb ? before / nb : na ? after / na : 0.0;
}

// Part of the picture replaced at once and kept (see kLocalChangeMin).
bool SceneDetector::is_local_replacement(const SceneSignal& s) const {
  if (s.strong_change < kLocalChangeMin || s.strong_change < kLocalConcentration * s.excess_diff)
    return false;
  double around = 0;
  int n = 0;
  for (int k = -kLag; k <= kLag; ++k) {
    const SceneSignal* o = at(s.frame + k);
    if (k == 0 || !o || !o->valid || !o->has_previous || s.frame + k <= first_frame_) continue;
    around += o->strong_change;
    ++n;
  }
  if (s.strong_change < kLocalChangeRatio * std::max(n ? around / n : 0.0, kLocalChangeFloor)) return false;
  // The next frame must be there to say the change stays (at the end of the input or of a worker's window,
  // or before a frame that did not decode, a blink would look the same).
  const SceneSignal* next = at(s.frame + 1);
  if (!next || !next->valid || next->strong_change > kLocalChangeUndone * s.strong_change) return false;
  return s.excess_diff >= kLocalExcessRatio * std::max(neighbourhood_excess(s.frame), kLocalExcessFloor);
}

// The jump at `frame` is a flash when the picture returns: a frame soon after matches the one before the
// jump, or the frame matches one from just before the frame before it (the end of a flash).
bool SceneDetector::is_flash(int frame) const {
  const double match = options_.threshold * kFlashMatch;
  const SceneSignal* before = at(frame - 1);
  const SceneSignal* self = at(frame);
  for (int k = 1; k <= kLag; ++k) {
    const SceneSignal* after = at(frame + k);
    if (before && before->valid && after && after->valid &&
        kernels::histogram_difference(before->histogram, after->histogram) < match)
      return true;
    const SceneSignal* earlier = at(frame - 1 - k);
    if (earlier && earlier->valid && frame - 1 - k >= first_frame_ &&
        kernels::histogram_difference(earlier->histogram, self->histogram) < match)
      return true;
  }
  return false;
}

// A run of black (or white) frames; when it ends after frames that were not black, the first frame after
// it opens the new scene.
void SceneDetector::track_fade(const SceneSignal& s) {
  const bool dark = is_black_or_white(s);
  if (dark && !dark_) {
    dark_ = Dark{s.frame, s.dark >= kBlackFraction};
    return;
  }
  if (dark || !dark_) return;
  const Dark run = *dark_;
  dark_.reset();
  if (!s.valid || run.start <= first_frame_) return;  // a video (or a segment) that starts in black
  const int start = fade_out_start(run.start);
  // A few black frames with no fade-out before them are a blink or a flash; a cut through them is hard.
  if (s.frame - run.start < kMinDarkRun && run.start - start < kMinFadeOut) return;
  const SceneSignal* before = at(start - 1);
  const double score =
      before && before->valid ? kernels::histogram_difference(before->histogram, s.histogram) : s.hist_diff;
  offer({s.frame, score, CutKind::kFade, start, s.frame});
}

// The frames after a black (white) run that keep getting lighter (darker) are its fade-in: none of them
// is a hard cut, and a pending fade's span grows with them.
void SceneDetector::track_fade_in(const SceneSignal& s) {
  if (dark_ && !is_black_or_white(s)) {
    fade_in_ = {s.frame, dark_->black};
    return;
  }
  const SceneSignal* prev = at(s.frame - 1);
  if (!fade_in_ || fade_in_->last != s.frame - 1 || !prev || !prev->valid || !s.valid) return;
  const double step = s.mean_luma - prev->mean_luma;
  if (fade_in_->from_black ? step < kFadeStep : step > -kFadeStep) return;
  fade_in_->last = s.frame;
  if (pending_ && pending_->kind == CutKind::kFade && pending_->end_frame == s.frame - 1)
    pending_->end_frame = s.frame;
}

// The first frame of the fade-out before a black run: back while each frame is darker (lighter, before
// white) than the one before it, at most kMaxTransition frames.
int SceneDetector::fade_out_start(int first_dark) const {
  const SceneSignal* run = at(first_dark);
  const bool black = run && run->dark >= kBlackFraction;
  int start = first_dark;
  for (int f = first_dark; f - 1 > std::max(first_frame_, first_dark - kMaxTransition); --f) {
    const SceneSignal* a = at(f - 1);
    const SceneSignal* b = at(f);
    if (!a || !b || !a->valid || !b->valid) break;
    const double step = b->mean_luma - a->mean_luma;
    if (black ? step > -kFadeStep : step < kFadeStep) break;
    start = f;
  }
  return start;
}

// Twin comparison: a run of frames each changing a little more than the frames before it did (twice
// their mean change, at least kDissolveLow), judged when it stops by how far its last frame is from the
// frame before it began. Grain and steady motion set the bar the run must clear; motion that starts
// (pixels changing more than before) is no dissolve, where a dissolve's blending changes them less.
void SceneDetector::track_dissolve(const SceneSignal& s, bool hard) {
  if (hard && dissolve_ && dissolve_->last_active == s.frame - 1 && dissolve_changed_enough()) {
    // The last step of a dissolve can look like a small cut (xfade jumps from 0.9 to 1): its end, when
    // the run before it was a dissolve already.
    add_to_dissolve(s);
    close_dissolve();
    return;
  }
  if (!s.valid || !s.has_previous || hard || is_black_or_white(s)) {
    dissolve_.reset();  // a cut, a gap or a fade: not a dissolve
    return;
  }
  if (!dissolve_) {
    const SceneSignal* before = at(s.frame - 1);
    const auto base = baseline(s.frame);
    if (!base || !before || !before->valid) return;
    const double low = std::max(kDissolveLow, kDissolveRise * base->change);
    if (s.hist_diff >= low) {
      dissolve_ = Dissolve{before->histogram, s.frame, s.frame, 0, 0, low, base->excess};
      add_to_dissolve(s);
    }
    return;
  }
  if (s.hist_diff >= dissolve_->low) {
    add_to_dissolve(s);
    if (s.frame - dissolve_->start + 1 > kMaxTransition) dissolve_.reset();  // too long: motion
    return;
  }
  if (s.frame - dissolve_->last_active >= 2) close_dissolve();
}

// The open run's last frame is as far from the frame before it as a dissolve's end must be.
bool SceneDetector::dissolve_changed_enough() const {
  const SceneSignal* end = at(dissolve_->last_active);
  return end && end->valid &&
         kernels::histogram_difference(dissolve_->before, end->histogram) >=
             options_.threshold * kDissolveChange;
}

void SceneDetector::add_to_dissolve(const SceneSignal& s) {
  dissolve_->sum += s.hist_diff;
  dissolve_->excess_sum += s.excess_diff;
  dissolve_->last_active = s.frame;
}

// The mean histogram change and excess difference of the kBaseline frames before `frame`; none when
// fewer were measured (at the start of a file or a segment, where grain and motion are not known yet).
std::optional<SceneDetector::Baseline> SceneDetector::baseline(int frame) const {
  Baseline b;
  int n = 0;
  for (int f = frame - kBaseline; f < frame; ++f) {
    const SceneSignal* o = at(f);
    // Only frames after the last fade-in: a transition's own changes are not the shot's grain or motion.
    if (!o || !o->valid || !o->has_previous || f <= first_frame_ || (fade_in_ && f <= fade_in_->last))
      continue;
    b.change += o->hist_diff;
    b.excess += o->excess_diff;
    ++n;
  }
  if (n < kBaseline / 2) return std::nullopt;
  b.change /= n;
  b.excess /= n;
  return b;
}

void SceneDetector::close_dissolve() {
  const Dissolve d = *dissolve_;
  dissolve_.reset();
  const SceneSignal* end = at(d.last_active);
  if (!end || !end->valid || d.last_active - d.start + 1 < kMinDissolve) return;
  const double change = kernels::histogram_difference(d.before, end->histogram);
  if (change < options_.threshold * kDissolveChange || change < kDissolveDirectness * d.sum) return;
  const double excess = d.excess_sum / (d.last_active - d.start + 1);
  if (excess > kDissolveMotion * d.base_excess + kDissolveMotionSlack) return;  // motion began
  offer({d.last_active, change, CutKind::kDissolve, d.start, d.last_active});
}

void SceneDetector::offer(const SceneCut& cut) {
  if (cut.frame - last_cut_ < options_.min_scene_frames) return;
  if (!pending_) {
    pending_ = cut;
    return;
  }
  const auto inside = [](const SceneCut& hard, const SceneCut& transition) {
    return transition.kind != CutKind::kHard && hard.kind == CutKind::kHard &&
           hard.frame >= transition.start_frame && hard.frame <= transition.end_frame;
  };
  if (inside(*pending_, cut)) {
    pending_ = cut;  // the fade or dissolve that a hard candidate was part of
  } else if (inside(cut, *pending_)) {
    return;
  } else if (cut.score > pending_->score) {
    pending_ = cut;  // (a pending cut min_scene_frames before this one was decided already)
  }
}

std::vector<SceneSignal> scene_signals(const std::vector<kernels::FrameMeasure>& measures,
                                       const std::vector<bool>& decoded) {
  std::vector<SceneSignal> out;
  out.reserve(measures.size());
  for (std::size_t i = 0; i < measures.size(); ++i) {
    const int f = static_cast<int>(i);
    out.push_back(decoded[i] ? scene_signal(f, measures[i], i ? &out[i - 1] : nullptr) : missing_signal(f));
  }
  return out;
}

std::vector<SceneCut> detect_scene_cuts(const std::vector<SceneSignal>& signals,
                                        SceneDetectorOptions options) {
  std::vector<SceneCut> cuts;
  SceneDetector det(options, 0);
  for (const auto& s : signals)
    for (const auto& c : det.push(s)) cuts.push_back(c);
  for (const auto& c : det.finish()) cuts.push_back(c);
  return cuts;
}

}  // namespace pvt
