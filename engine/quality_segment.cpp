#include "quality_segment.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "atomic_file.hpp"
#include "encoded_scorer.hpp"
#include "error.hpp"

extern "C" {
#include <libavutil/imgutils.h>
}

namespace pvt {

// The sample's shape. Measured on the shared BBB and car clips at veryfast (SSIM 0.97 and 0.985, the
// first final's score against the probes' prediction): three windows of 12 % missed by 0.002-0.005 and
// sent 6 of 7 BBB segments to a second encode; four windows of 25 % missed by 0.0016 at most there.
constexpr double kSampleShare = 0.25;
constexpr int kSampleMinFrames = 48;
constexpr int kSampleWindows = 4;

bool probed_whole(const SegmentDescriptor& d) {
  return d.frame_count() <= 2 * kSampleMinFrames;
}

double learned_probe_offset(const std::vector<QualityResult>& finished, const std::string& metric) {
  double sum = 0;
  int n = 0;
  for (const auto& q : finished) {
    // Only a first final the probes predicted, against a target the CRF range and cap let it reach.
    if (q.metric != metric || q.final_encodes < 1 || q.predicted <= 0 || q.limited_by_range ||
        q.limited_by_cap)
      continue;
    sum += score_domain(metric, q.first_score) - (score_domain(metric, q.predicted) - q.probe_offset);
    ++n;
  }
  return sum / (n + 1);
}

namespace {

using nlohmann::json;

// Scores the final encode through the worker's observer hooks.
class FinalScorer : public EncodeObserver {
 public:
  FinalScorer(std::string metric, std::string log_dir)
      : metric_(std::move(metric)), log_dir_(std::move(log_dir)) {}
  void opened(const AVCodecContext* encoder) override {
    scorer_ = std::make_unique<EncodedScorer>(encoder, metric_, log_dir_);
  }
  void sent(const AVFrame* frame) override { scorer_->reference(frame); }
  void kept(const AVPacket* packet) override { scorer_->packet(packet); }
  std::vector<double> finish() { return scorer_ ? scorer_->finish() : std::vector<double>{}; }

 private:
  std::string metric_, log_dir_;
  std::unique_ptr<EncodedScorer> scorer_;
};

// Progress while probing: the job's watchdog needs a changing count, and no frame of the file is done yet.
void probe_progress(int& ticks) {
  std::printf("{\"frames\":0,\"packets\":%d,\"probing\":true}\n", ++ticks);
  std::fflush(stdout);
}

std::string log_dir(const SegmentDescriptor& d) {
  return std::filesystem::path(d.output).parent_path().string();
}

// One rendition of the segment under target quality: rung 0 (the segment's own file, or a ladder's tallest
// rung) or a lower rung of its ladder, each searched and scored against the source at its own size. `view`
// is the segment as that rendition's probes see it: the rung's peak cap as the encoder's, and a probe
// cache of the rung's own.
struct Rendition {
  std::size_t rung = 0;
  SegmentDescriptor view;
};

std::vector<Rendition> renditions_of(const SegmentDescriptor& d) {
  if (d.ladder.empty()) return {{0, d}};
  std::vector<Rendition> out;
  for (std::size_t r = 0; r < d.ladder.size(); ++r) {
    Rendition x{r, d};
    x.view.encoder.max_bitrate = d.ladder[r].max_bitrate;
    if (!d.quality.cache.empty()) {
      std::filesystem::path cache(d.quality.cache);
      cache.replace_extension();
      x.view.quality.cache = cache.string() + "-" + std::to_string(d.ladder[r].height) + "p.json";
    }
    out.push_back(std::move(x));
  }
  return out;
}

// The pre-roll a rendition's probes take. A segment probed whole gets its final encode's (rung 0's; lower
// rungs have none), so the probe is the final but for in-segment cuts: without it BBB's 94-frame segment
// scored 0.003 SSIM over its probe at 0.97. A windowed sample gets none: its windows each start at an
// IDR, which scores higher than the same frames mid-segment, and a cold first window happens to offset
// part of that. With pre-roll there the first finals of BBB's windowed segments fell under their probes
// (0.97: mean -0.0012 against +0.0002 without, one segment at -0.0045).
int probe_preroll(const Rendition& x) {
  return x.rung == 0 && probed_whole(x.view) ? preroll_frames(x.view) : 0;
}

// Everything that changes a probe's score: a cache entry made under another key is not used.
json cache_key_fields(const Rendition& x) {
  const SegmentDescriptor& d = x.view;
  const auto& e = d.encoder;
  json key{{"input", path_json(d.input)},
           {"frames", {d.start_frame, d.end_frame}},
           {"backend", e.backend},
           {"codec", e.codec},
           {"preset", e.preset},
           {"threads", e.threads},
           {"lookahead", e.lookahead},
           {"pix_fmt", e.pix_fmt},
           {"video_filter", d.video_filter},
           {"metric", d.quality.metric},
           {"pool", d.quality.pool},
           {"sample", "4x25%-leadout-v3"},
           {"preroll", probe_preroll(x)}};
  if (!d.ladder.empty()) {
    key["height"] = d.ladder[x.rung].height;
    key["max_bitrate"] = e.max_bitrate;
  }
  return key;
}

std::string cache_key(const Rendition& x) {
  return cache_key_fields(x).dump();
}

// What a search ran with, beyond the probes' own key: a rerun with all of it the same reaches the same CRF
// from the same probes, so it probes no more.
json search_entry(const SegmentDescriptor& d) {
  const QualityTarget& q = d.quality;
  return json{{"target", q.target},
              {"tolerance", q.tolerance},
              {"crf_range", {q.crf_lo, q.crf_hi}},
              {"max_probes", q.max_probes},
              {"first_crf", d.encoder.crf}};
}

// The settings a search's result depends on, but for the segment's frames: a worker's next segment under
// the same settings starts its search at the CRF the last one ended at.
std::string search_settings(const Rendition& x) {
  json key = cache_key_fields(x);
  key.erase("frames");
  key["search"] = search_entry(x.view);
  return key.dump();
}

// A segment's probe cache: the probes, and the searches that ended with them.
struct ProbeCache {
  std::vector<QualityProbe> probes;
  std::vector<json> searched;
  bool searched_for(const SegmentDescriptor& d) const {
    return std::find(searched.begin(), searched.end(), search_entry(d)) != searched.end();
  }
};

ProbeCache load_cache(const Rendition& x) {
  const SegmentDescriptor& d = x.view;
  if (d.quality.cache.empty()) return {};
  std::ifstream in(d.quality.cache);
  if (!in) return {};
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("key", "") != cache_key(x)) return {};
  ProbeCache c;
  try {
    c.probes = j.at("probes").get<std::vector<QualityProbe>>();
    c.searched = j.at("searched").get<std::vector<json>>();
  } catch (const std::exception&) {
    return {};  // a damaged cache costs a measurement, not the job
  }
  for (auto& p : c.probes) p.cached = true;
  return c;
}

void save_cache(const Rendition& x, ProbeCache c) {
  const SegmentDescriptor& d = x.view;
  if (d.quality.cache.empty()) return;
  for (auto& p : c.probes) p.cached = false;
  if (!c.searched_for(d)) c.searched.push_back(search_entry(d));
  try {
    std::filesystem::create_directories(std::filesystem::path(d.quality.cache).parent_path());
    write_json_file(d.quality.cache,
                    json{{"key", cache_key(x)}, {"probes", c.probes}, {"searched", c.searched}});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pvt: warning: segment %d: probe cache not written: %s\n", d.segment, e.what());
  }
}

// PVT_FAULT=probe-skew:SEG[:HEIGHT] (a test hook): the probe sample misjudges the segment (with HEIGHT,
// only that ladder rung's) by four tolerances, as a sample that missed its hardest (or easiest) frames
// would, so the final encode misses and is encoded again.
double probe_skew(const Rendition& x) {
  const SegmentDescriptor& d = x.view;
  const char* spec = std::getenv("PVT_FAULT");
  if (!spec) return 0;
  const std::string s(spec);
  std::vector<std::string> items{"probe-skew:" + std::to_string(d.segment)};
  if (!d.ladder.empty()) items.push_back(items.front() + ":" + std::to_string(d.ladder[x.rung].height));
  for (const auto& item : items) {
    for (std::size_t at = s.find(item); at != std::string::npos; at = s.find(item, at + 1)) {
      const std::size_t end = at + item.size();
      if ((at == 0 || s[at - 1] == ',') && (end == s.size() || s[end] == ',')) return 4 * d.quality.tolerance;
    }
  }
  return 0;
}

// One probe: the sample encoded at `crf` (each window from an IDR), decoded again and scored; led in by
// probe_preroll() copies of its first frames, stamped before it and dropped, as a final encode is.
double probe_score(const Rendition& x, const ProbeSample& sample, const std::vector<av::Frame>& frames,
                   double crf, int& ticks) {
  const SegmentDescriptor& d = x.view;
  SegmentDescriptor pd = d;
  pd.encoder.crf = crf;
  std::unique_ptr<hw::VideoEncoder> encoder;
  try {
    encoder = hw::open_encoder(d.encoder.backend, encoder_config(pd, frames.front().get()));
  } catch (const hw::BackendError& e) {
    throw Error(ErrorCode::kEncode, "segment " + std::to_string(d.segment) + ": probe encode: " + e.what());
  }
  EncodedScorer scorer(encoder->context(), d.quality.metric, log_dir(d));
  // IDRs where the final encode has them too (playlist boundaries, scene cuts), and at each window.
  std::set<int> idr(sample.window_starts.begin(), sample.window_starts.end());
  idr.insert(d.forced_keyframes.begin(), d.forced_keyframes.end());
  const std::int64_t step = std::max<std::int64_t>(
      1, av_rescale_q(1, {d.frame_rate_den, d.frame_rate_num}, {d.time_base_num, d.time_base_den}));
  av::Packet pkt = av::make_packet();
  auto drain = [&] {
    while (encoder->receive(pkt.get())) {
      if (pkt->pts < 0) {  // a pre-roll frame's
        av_packet_unref(pkt.get());
        continue;
      }
      scorer.packet(pkt.get());
      av_packet_unref(pkt.get());
      if (++ticks % 8 == 0) probe_progress(ticks);  // a long flush shows life to the watchdog too
    }
  };
  try {
    const int preroll = std::min<int>(probe_preroll(x), static_cast<int>(frames.size()));
    for (int i = 0; i < preroll; ++i) {
      av::Frame f(av_frame_clone(frames[static_cast<std::size_t>(i)].get()));
      if (!f) throw std::bad_alloc();
      f->pts = static_cast<std::int64_t>(i - preroll) * step;
      encoder->send(f.get(), false);
      drain();
    }
    for (std::size_t i = 0; i < frames.size(); ++i) {
      av::Frame f(av_frame_clone(frames[i].get()));
      if (!f) throw std::bad_alloc();
      f->pts = static_cast<std::int64_t>(i) * step;  // one continuous stream of the windows
      scorer.reference(f.get(), sample.scored[i]);
      encoder->send(f.get(), idr.count(sample.frames[i]) > 0);
      drain();
      if (i % 8 == 0) probe_progress(ticks);
    }
    encoder->send(nullptr, false);
    drain();
  } catch (const hw::BackendError& e) {
    throw Error(ErrorCode::kEncode, "segment " + std::to_string(d.segment) + ": probe encode: " + e.what());
  }
  // For SSIM the skew goes downwards: upwards it could pass SSIM's ceiling of 1, which no real score does.
  const double skew = d.quality.metric == "ssim" ? -probe_skew(x) : probe_skew(x);
  return pool_scores(scorer.finish(), d.quality.pool) + skew;
}

CrfSearch search_of(const SegmentDescriptor& d) {
  CrfSearch s;
  s.metric = d.quality.metric;
  s.target = d.quality.target;
  s.crf_lo = d.quality.crf_lo;
  s.crf_hi = d.quality.crf_hi;
  s.max_probes = d.quality.max_probes;
  s.tolerance = d.quality.tolerance;
  s.first_crf = d.encoder.crf;
  s.whole_steps = hw::is_hardware_backend(d.encoder.backend);
  return s;
}

}  // namespace

// Frames after each window encoded for context and not scored: the encoder's look-ahead (x264's mbtree)
// treats a window's last frames as the end of the stream, and they came out worse than the same frames
// inside the segment. A quarter of the look-ahead was enough on BBB at medium (rc-lookahead 40: the first
// final's SSIM off the prediction by +0.002..+0.006 without, -0.0006..+0.0028 with 10 frames; 7 of 7
// segments encoded twice before, 2 after); at veryfast (10) it changed nothing.
int lead_out_frames(const SegmentDescriptor& d) {
  if (d.encoder.backend != "x264" && d.encoder.backend != "x265") return 0;
  if (d.encoder.lookahead >= 0) return d.encoder.lookahead / 4;
  static const std::map<std::string, int> rc_lookahead{
      {"ultrafast", 0}, {"superfast", 0}, {"veryfast", 10}, {"faster", 20},   {"fast", 30},
      {"medium", 40},   {"slow", 50},     {"slower", 60},   {"veryslow", 60}, {"placebo", 60}};
  const auto it = rc_lookahead.find(d.encoder.preset);
  return (it == rc_lookahead.end() ? 40 : it->second) / 4;
}

ProbeSample probe_sample(const SegmentDescriptor& d, std::int64_t frame_bytes) {
  ProbeSample s;
  const int n = d.frame_count();
  if (probed_whole(d)) {
    for (int f = d.start_frame; f < d.end_frame; ++f) {
      s.frames.push_back(f);
      s.scored.push_back(true);
    }
    s.window_starts.push_back(d.start_frame);
    return s;
  }
  int total = std::max(kSampleMinFrames, static_cast<int>(std::lround(kSampleShare * n)));
  // Every frame kept (lead-outs too) counts against the memory cap; the lead-outs shrink first.
  const std::int64_t cap = std::max<std::int64_t>(16, (256LL << 20) / std::max<std::int64_t>(frame_bytes, 1));
  total = static_cast<int>(std::min<std::int64_t>(total, cap));
  const int window = std::max(4, total / kSampleWindows);
  const int lead = static_cast<int>(std::clamp<std::int64_t>(
      (cap - std::int64_t{window} * kSampleWindows) / kSampleWindows, 0, lead_out_frames(d)));
  // The windows' starts first, so a lead-out is cut at the next window rather than swallowing it.
  for (int w = 0; w < kSampleWindows; ++w) {
    const int centre =
        d.start_frame + static_cast<int>(std::lround(n * (2 * w + 1) / (2.0 * kSampleWindows)));
    const int first = std::clamp(centre - window / 2, d.start_frame, d.end_frame - window);
    if (s.window_starts.empty() || first >= s.window_starts.back() + window) s.window_starts.push_back(first);
  }
  for (std::size_t w = 0; w < s.window_starts.size(); ++w) {
    const int first = s.window_starts[w];
    const int next = w + 1 < s.window_starts.size() ? s.window_starts[w + 1] : d.end_frame;
    for (int f = first; f < std::min(next, first + window + lead); ++f) {
      s.frames.push_back(f);
      s.scored.push_back(f < first + window);
    }
  }
  return s;
}

namespace {

// The probes: cached ones first, then as many new ones as the search wants (at most max_probes encoded
// by this run; none when the cache's probes already ended a search for this target). The sample is
// decoded only when a probe is needed.
std::vector<QualityProbe> search_crf(const Rendition& x, WorkerSession* session, const CrfSearch& search,
                                     QualityResult& r, int& ticks) {
  const SegmentDescriptor& d = x.view;
  ProbeCache cache = load_cache(x);
  std::vector<QualityProbe>& probes = cache.probes;
  if (cache.searched_for(d)) return probes;
  CrfSearch s = search;
  s.max_probes = static_cast<int>(probes.size()) + search.max_probes;
  if (!next_probe(probes, s)) {
    save_cache(x, cache);
    return probes;
  }
  // The sample's size is known once a frame is: the first tells the bytes per frame.
  const AVPixelFormat fmt = av_get_pix_fmt(d.encoder.pix_fmt.c_str());
  auto progress = [&] { probe_progress(ticks); };
  const auto first = read_segment_frames(d, session, {d.start_frame}, progress, x.rung);
  const std::int64_t bytes = av_image_get_buffer_size(fmt, first.front()->width, first.front()->height, 1);
  const ProbeSample sample = probe_sample(d, bytes);
  const auto frames = read_segment_frames(d, session, sample.frames, progress, x.rung);
  while (const auto crf = next_probe(probes, s)) {
    probes.push_back({*crf, probe_score(x, sample, frames, *crf, ticks), false});
    ++r.probe_encodes;
  }
  save_cache(x, cache);
  return probes;
}

// A rendition's search and its final encodes so far.
struct RenditionSearch {
  Rendition rendition;
  CrfSearch search;
  std::string settings;  // search_settings(): the worker session's key for the CRF it ended at
  QualityResult result;
  double crf = 0;                    // the CRF of the next (or last) final encode
  std::vector<QualityProbe> finals;  // CRF -> the final file's score, one per final encode
  bool done = false;                 // within the tolerance, or no new encode would do better
};

std::string label(const SegmentDescriptor& d, const RenditionSearch& s) {
  const std::string seg = "segment " + std::to_string(d.segment);
  return d.ladder.empty() ? seg : seg + " " + std::to_string(d.ladder[s.rendition.rung].height) + "p";
}

// One final encode of the renditions still searching (all of them the first time), each into a file of its
// own (`.tryN.mp4`). After the first, the IDRs are the first's: a lower rung kept from one try and rung 0
// from another still start their GOPs together.
struct FinalTry {
  WorkerStats stats;                 // the try's own: its ladder holds the renditions it encoded, in order
  std::vector<std::size_t> encoded;  // the renditions it encoded, rung 0 first when among them
  std::vector<std::string> files;    // per rendition encoded
  std::vector<double> crfs, scores;  // per rendition encoded
  // Where rendition r is among those encoded, if it is.
  std::optional<std::size_t> at(std::size_t r) const {
    const auto it = std::find(encoded.begin(), encoded.end(), r);
    if (it == encoded.end()) return std::nullopt;
    return static_cast<std::size_t>(it - encoded.begin());
  }
};

// The try's segment: a ladder of only the renditions it encodes. When rung 0 is done, the first lower rung
// left takes its place: scaled from the decoded frames by the same swscale call as a lower rung's
// (RungScaler and the scaling PixelConverter make the same size from the same source with the same
// flags), under its own peak cap and CRF and without pre-roll, so its file is what a whole-ladder try
// would have made of it, and rung 0 is not encoded again for nothing. (One difference remains: a later
// frame of another size whose even size is the rung's own is cropped by PixelConverter where RungScaler
// scales it; only damaged or joined inputs change size mid-stream.)
SegmentDescriptor try_descriptor(const SegmentDescriptor& d, const std::vector<RenditionSearch>& searches,
                                 const std::vector<std::size_t>& encoded, const std::string& suffix) {
  SegmentDescriptor fd = d;
  fd.encoder.crf = searches[encoded.front()].crf;
  if (d.ladder.empty()) {
    fd.output = d.output + suffix;
    return fd;
  }
  fd.ladder.clear();
  for (std::size_t r : encoded) {
    LadderRung rung = d.ladder[r];
    rung.output = (r == 0 ? d.output : d.ladder[r].output) + suffix;
    rung.crf = searches[r].crf;
    fd.ladder.push_back(rung);
  }
  fd.ladder.front().crf = -1;  // rung 0's CRF is the encoder's own
  fd.encoder.max_bitrate = fd.ladder.front().max_bitrate;
  // A lower rung's encoder has no pre-roll (LadderRungEncoder), so a promoted one has none either: its
  // rate control starts as in its first try's file.
  if (encoded.front() != 0) fd.encoder.preroll = 0;
  fd.output = fd.ladder.front().output;
  return fd;
}

// `written`: each file of the try is added before the encode starts, so a failure anywhere after the
// worker has published them (a scorer's finish(), a rename) still has them removed.
FinalTry encode_once(const SegmentDescriptor& d, WorkerSession* session,
                     const std::vector<RenditionSearch>& searches, int n, const FinalTry* first,
                     std::vector<std::string>& written) {
  FinalTry t;
  for (std::size_t r = 0; r < searches.size(); ++r)
    if (!searches[r].done) t.encoded.push_back(r);
  SegmentDescriptor fd = try_descriptor(d, searches, t.encoded, ".try" + std::to_string(n) + ".mp4");
  if (first) {
    fd.forced_keyframes = first->stats.keyframes;
    fd.detect_scenes = false;
  }
  for (std::size_t r : t.encoded) t.crfs.push_back(searches[r].crf);
  for (const auto& rung : fd.ladder.empty() ? std::vector<LadderRung>{{0, fd.output}} : fd.ladder)
    t.files.push_back(rung.output);
  written.insert(written.end(), t.files.begin(), t.files.end());
  std::vector<std::unique_ptr<FinalScorer>> scorers;
  for (std::size_t i = 0; i < t.encoded.size(); ++i)
    scorers.push_back(std::make_unique<FinalScorer>(d.quality.metric, log_dir(d)));
  std::vector<EncodeObserver*> lower;
  for (std::size_t i = 1; i < scorers.size(); ++i) lower.push_back(scorers[i].get());
  t.stats = run_segment_worker(fd, session, scorers.front().get(), lower);
  for (auto& scorer : scorers) t.scores.push_back(pool_scores(scorer->finish(), d.quality.pool));
  if (first) t.stats.detected_cuts = first->stats.detected_cuts;
  return t;
}

// After a final encode: each rendition it encoded is done when within the tolerance, out of re-encodes,
// or back at a CRF already encoded; otherwise it gets a corrected CRF. True while one is not done (then
// those are encoded again, from one decode, and the done ones are not).
bool correct(const SegmentDescriptor& d, std::vector<RenditionSearch>& searches, const FinalTry& t, int n) {
  bool again = false;
  for (std::size_t i = 0; i < t.encoded.size(); ++i) {
    RenditionSearch& s = searches[t.encoded[i]];
    const double score = t.scores[i];
    s.finals.push_back({s.crf, score, false});
    ++s.result.final_encodes;
    if (n == 0) s.result.first_score = score;
    if (std::abs(score - d.quality.target) <= d.quality.tolerance || n >= d.quality.max_reencodes) {
      s.done = true;
      continue;
    }
    const double next = corrected_crf(s.result.probes, s.finals, s.search);
    // At the end of the range, or back at a CRF already encoded: no new encode would do better.
    if (std::any_of(s.finals.begin(), s.finals.end(),
                    [&](const QualityProbe& f) { return std::abs(next - f.crf) < 0.01; })) {
      s.done = true;
      continue;
    }
    std::fprintf(stderr,
                 "pvt: note: %s: %s %.4f at CRF %.2f misses the target %.4f; encoding again at CRF %.2f\n",
                 label(d, s).c_str(), s.result.metric.c_str(), score, s.crf, d.quality.target, next);
    s.crf = next;
    again = true;
  }
  return again;
}

// The probes' scores all but stopped rising as the CRF fell: from the highest CRF probed to the lowest they
// gained less than the tolerance, or than a quarter of what the final still lacks (as under a peak bitrate
// cap that binds at every CRF probed: 0.6221 -> 0.6249 SSIM from CRF 23 to 10, 0.35 short of the target).
bool saturated(const std::vector<QualityProbe>& probes, double shortfall, double tolerance) {
  if (probes.size() < 2) return false;
  const auto [lo, hi] = std::minmax_element(probes.begin(), probes.end(),
                                            [](const auto& a, const auto& b) { return a.crf < b.crf; });
  return lo->score - hi->score < std::max(tolerance, shortfall / 4);
}

// Final encodes until every rendition is within the tolerance or has spent max_reencodes; each
// rendition keeps the try closest to the target. Returns rung 0's chosen try's stats, with each
// rendition's chosen file in place and its result filled in.
WorkerStats encode_to_target(const SegmentDescriptor& d, WorkerSession* session,
                             std::vector<RenditionSearch>& searches) {
  std::vector<FinalTry> tries;
  // Whatever ends this (a failed encode included), no try is left beside the segment but the ones kept.
  struct RemoveTries {
    std::vector<std::string> files;
    ~RemoveTries() {
      std::error_code ec;
      for (const auto& f : files) std::filesystem::remove(f, ec);
    }
  } guard;
  for (auto& s : searches) {
    s.crf = predict_crf(s.result.probes, s.search);
    s.result.predicted = predict_score(s.result.probes, s.crf, s.search);
  }
  for (int n = 0;; ++n) {
    tries.push_back(encode_once(d, session, searches, n, n > 0 ? &tries.front() : nullptr, guard.files));
    if (!correct(d, searches, tries.back(), n)) break;
  }
  // Each rendition keeps, of the tries that encoded it, the one closest to the target.
  std::vector<std::pair<const FinalTry*, std::size_t>> kept;  // the try, and the rendition's place in it
  for (std::size_t r = 0; r < searches.size(); ++r) {
    std::optional<std::pair<const FinalTry*, std::size_t>> best;
    for (const auto& t : tries) {
      const auto i = t.at(r);
      if (i && (!best || std::abs(t.scores[*i] - d.quality.target) <
                             std::abs(best->first->scores[best->second] - d.quality.target)))
        best = {&t, *i};
    }
    kept.push_back(*best);  // the first try encoded every rendition
  }
  WorkerStats stats = kept.front().first->stats;
  if (!d.ladder.empty()) stats.ladder.resize(d.ladder.size());
  for (std::size_t r = 0; r < searches.size(); ++r) {
    const auto [best, i] = kept[r];
    RenditionSearch& s = searches[r];
    QualityResult& q = s.result;
    q.crf = best->crfs[i];
    q.score = best->scores[i];
    q.within_tolerance = std::abs(q.score - d.quality.target) <= d.quality.tolerance;
    q.limited_by_range = !q.within_tolerance && ((q.crf >= d.quality.crf_hi && q.score > d.quality.target) ||
                                                 (q.crf <= d.quality.crf_lo && q.score < d.quality.target));
    q.limited_by_cap = !q.within_tolerance && q.score < d.quality.target &&
                       s.rendition.view.encoder.max_bitrate > 0 &&
                       saturated(q.probes, d.quality.target - q.score, d.quality.tolerance);
    if (!d.ladder.empty()) stats.ladder.at(r) = best->stats.ladder.at(i);
  }
  // The lower rungs first, rung 0 (the segment's own file, what a finished segment is known by) last.
  for (std::size_t r = searches.size(); r-- > 0;)
    rename_or_throw(kept[r].first->files[kept[r].second], r == 0 ? d.output : d.ladder[r].output);
  return stats;
}

}  // namespace

WorkerStats run_quality_segment(const SegmentDescriptor& d, WorkerSession* session) {
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_seconds();
  int ticks = 0;
  std::vector<RenditionSearch> searches;
  for (Rendition& x : renditions_of(d)) {
    RenditionSearch s{std::move(x), search_of(d)};
    const std::size_t rung = s.rendition.rung;
    if (!probed_whole(d) && rung < d.quality.probe_offsets.size())
      s.search.probe_offset = d.quality.probe_offsets[rung];
    s.result.probe_offset = s.search.probe_offset;
    // A worker's next segment starts its search where the last one ended rather than at --crf: a job's
    // segments usually need CRFs nearer each other than to 23 (24.6-35.8 on the shared BBB clip at SSIM
    // 0.97, veryfast). With the wider bracket in crf_search.cpp: 2.6 probes a segment there before, 2.1
    // after.
    s.settings = search_settings(s.rendition);
    if (session) {
      if (const auto it = session->quality_crf.find(s.settings); it != session->quality_crf.end())
        s.search.first_crf = it->second;
    }
    s.result.metric = d.quality.metric;
    s.result.pool = d.quality.pool;
    s.result.target = d.quality.target;
    s.result.probes = search_crf(s.rendition, session, s.search, s.result, ticks);
    searches.push_back(std::move(s));
  }
  WorkerStats stats = encode_to_target(d, session, searches);
  for (std::size_t r = 0; r < searches.size(); ++r) {
    if (session) session->quality_crf[searches[r].settings] = searches[r].result.crf;
    if (!d.ladder.empty()) stats.ladder[r].quality = searches[r].result;
  }
  stats.quality = searches.front().result;
  stats.encode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stats.cpu_seconds = process_cpu_seconds() - cpu0;
  return stats;
}

}  // namespace pvt
