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
#include <set>

#include "atomic_file.hpp"
#include "encoded_scorer.hpp"
#include "error.hpp"

extern "C" {
#include <libavutil/imgutils.h>
}

namespace pvt {

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

// Everything that changes a probe's score: a cache entry made under another key is not used.
json cache_key_fields(const SegmentDescriptor& d) {
  const auto& e = d.encoder;
  return json{{"input", path_json(d.input)},
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
              {"sample", "4x25%-leadout-v3"}};
}

std::string cache_key(const SegmentDescriptor& d) {
  return cache_key_fields(d).dump();
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
std::string search_settings(const SegmentDescriptor& d) {
  json key = cache_key_fields(d);
  key.erase("frames");
  key["search"] = search_entry(d);
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

ProbeCache load_cache(const SegmentDescriptor& d) {
  if (d.quality.cache.empty()) return {};
  std::ifstream in(d.quality.cache);
  if (!in) return {};
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("key", "") != cache_key(d)) return {};
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

void save_cache(const SegmentDescriptor& d, ProbeCache c) {
  if (d.quality.cache.empty()) return;
  for (auto& p : c.probes) p.cached = false;
  if (!c.searched_for(d)) c.searched.push_back(search_entry(d));
  try {
    std::filesystem::create_directories(std::filesystem::path(d.quality.cache).parent_path());
    write_json_file(d.quality.cache,
                    json{{"key", cache_key(d)}, {"probes", c.probes}, {"searched", c.searched}});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pvt: warning: segment %d: probe cache not written: %s\n", d.segment, e.what());
  }
}

// PVT_FAULT=probe-skew:SEG (a test hook): the probe sample misjudges the segment by four tolerances, as a
// sample that missed its hardest (or easiest) frames would, so the final encode misses and is encoded
// again.
double probe_skew(const SegmentDescriptor& d) {
  const char* spec = std::getenv("PVT_FAULT");
  if (!spec) return 0;
  const std::string item = "probe-skew:" + std::to_string(d.segment);
  const std::string s(spec);
  for (std::size_t at = s.find(item); at != std::string::npos; at = s.find(item, at + 1)) {
    const std::size_t end = at + item.size();
    if ((at == 0 || s[at - 1] == ',') && (end == s.size() || s[end] == ',')) return 4 * d.quality.tolerance;
  }
  return 0;
}

// One probe: the sample encoded at `crf` (each window from an IDR), decoded again and scored.
double probe_score(const SegmentDescriptor& d, const ProbeSample& sample,
                   const std::vector<av::Frame>& frames, double crf, int& ticks) {
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
      scorer.packet(pkt.get());
      av_packet_unref(pkt.get());
      if (++ticks % 8 == 0) probe_progress(ticks);  // a long flush shows life to the watchdog too
    }
  };
  try {
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
  const double skew = d.quality.metric == "ssim" ? -probe_skew(d) : probe_skew(d);
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

// The sample's shape. Measured on the shared BBB and car clips at veryfast (SSIM 0.97 and 0.985, the
// first final's score against the probes' prediction): three windows of 12 % missed by 0.002-0.005 and
// sent 6 of 7 BBB segments to a second encode; four windows of 25 % missed by 0.0016 at most there.
constexpr double kSampleShare = 0.25;
constexpr int kSampleMinFrames = 48;
constexpr int kSampleWindows = 4;

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
  if (n <= 2 * kSampleMinFrames) {
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
std::vector<QualityProbe> search_crf(const SegmentDescriptor& d, WorkerSession* session,
                                     const CrfSearch& search, QualityResult& r, int& ticks) {
  ProbeCache cache = load_cache(d);
  std::vector<QualityProbe>& probes = cache.probes;
  if (cache.searched_for(d)) return probes;
  CrfSearch s = search;
  s.max_probes = static_cast<int>(probes.size()) + search.max_probes;
  if (!next_probe(probes, s)) {
    save_cache(d, cache);
    return probes;
  }
  // The sample's size is known once a frame is: the first tells the bytes per frame.
  const AVPixelFormat fmt = av_get_pix_fmt(d.encoder.pix_fmt.c_str());
  const auto first = read_segment_frames(d, session, {d.start_frame}, [&] { probe_progress(ticks); });
  const std::int64_t bytes = av_image_get_buffer_size(fmt, first.front()->width, first.front()->height, 1);
  const ProbeSample sample = probe_sample(d, bytes);
  const auto frames = read_segment_frames(d, session, sample.frames, [&] { probe_progress(ticks); });
  while (const auto crf = next_probe(probes, s)) {
    probes.push_back({*crf, probe_score(d, sample, frames, *crf, ticks), false});
    ++r.probe_encodes;
  }
  save_cache(d, cache);
  return probes;
}

struct FinalEncode {
  double crf = 0, score = 0;
  WorkerStats stats;
  std::string file;
};

// Final encodes, each to its own file, until one is within the tolerance or max_reencodes are spent;
// the one closest to the target becomes the segment's file.
FinalEncode encode_to_target(const SegmentDescriptor& d, WorkerSession* session, const CrfSearch& search,
                             const std::vector<QualityProbe>& probes, QualityResult& r) {
  std::vector<FinalEncode> tries;
  std::vector<QualityProbe> finals;
  // Whatever ends this (a failed encode included), no try is left beside the segment but the one kept.
  struct RemoveTries {
    std::vector<std::string> files;
    ~RemoveTries() {
      std::error_code ec;
      for (const auto& f : files) std::filesystem::remove(f, ec);
    }
  } guard;
  double crf = predict_crf(probes, search);
  r.predicted = predict_score(probes, crf, search);
  auto miss = [&](const FinalEncode& f) { return std::abs(f.score - d.quality.target); };
  for (int encode = 0;; ++encode) {
    SegmentDescriptor fd = d;
    fd.encoder.crf = crf;
    fd.output = d.output + ".try" + std::to_string(encode) + ".mp4";
    FinalScorer scorer(d.quality.metric, log_dir(d));
    guard.files.push_back(fd.output);
    FinalEncode f{crf, 0, run_segment_worker(fd, session, &scorer), fd.output};
    f.score = pool_scores(scorer.finish(), d.quality.pool);
    ++r.final_encodes;
    if (encode == 0) r.first_score = f.score;
    finals.push_back({crf, f.score, false});
    tries.push_back(f);
    if (miss(f) <= d.quality.tolerance || encode >= d.quality.max_reencodes) break;
    const double next = corrected_crf(probes, finals, search);
    // At the end of the range, or back at a CRF already encoded: no new encode would do better.
    if (std::any_of(finals.begin(), finals.end(),
                    [&](const QualityProbe& f) { return std::abs(next - f.crf) < 0.01; }))
      break;
    std::fprintf(
        stderr,
        "pvt: note: segment %d: %s %.4f at CRF %.2f misses the target %.4f; encoding again at CRF %.2f\n",
        d.segment, r.metric.c_str(), f.score, crf, d.quality.target, next);
    crf = next;
  }
  const auto best = std::min_element(tries.begin(), tries.end(),
                                     [&](const auto& a, const auto& b) { return miss(a) < miss(b); });
  rename_or_throw(best->file, d.output);
  return *best;
}

}  // namespace

WorkerStats run_quality_segment(const SegmentDescriptor& d, WorkerSession* session) {
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_seconds();
  CrfSearch search = search_of(d);
  // A worker's next segment starts its search where the last one ended rather than at --crf: a job's
  // segments usually need CRFs nearer each other than to 23 (24.6-35.8 on the shared BBB clip at SSIM
  // 0.97, veryfast). With the wider bracket in crf_search.cpp: 2.6 probes a segment there before, 2.1 after.
  const std::string settings = search_settings(d);
  if (session && session->quality_settings == settings) search.first_crf = session->quality_crf;
  QualityResult r;
  r.metric = d.quality.metric;
  r.pool = d.quality.pool;
  r.target = d.quality.target;
  int ticks = 0;
  r.probes = search_crf(d, session, search, r, ticks);
  const FinalEncode best = encode_to_target(d, session, search, r.probes, r);

  WorkerStats stats = best.stats;
  r.crf = best.crf;
  r.score = best.score;
  r.within_tolerance = std::abs(r.score - d.quality.target) <= d.quality.tolerance;
  if (session) {
    session->quality_settings = settings;
    session->quality_crf = best.crf;
  }
  r.limited_by_range = !r.within_tolerance && ((r.crf >= d.quality.crf_hi && r.score > d.quality.target) ||
                                               (r.crf <= d.quality.crf_lo && r.score < d.quality.target));
  stats.quality = r;
  stats.encode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stats.cpu_seconds = process_cpu_seconds() - cpu0;
  return stats;
}

}  // namespace pvt
