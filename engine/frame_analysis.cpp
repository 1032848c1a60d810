#include "frame_analysis.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "analysis_backend.hpp"
#include "cancellation.hpp"
#include "error.hpp"
#include "frame_reader.hpp"
#include "gpu_error.hpp"
#include "scene_metrics.hpp"
#include "system_resources.hpp"

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
}

namespace pvt {

namespace {

// Bits a sample spans: P010/P016 keep their value in the high bits of 16, and as a 16-bit plane they reduce
// to exactly what the 10/12-bit low-aligned plane gives (floor(mean(64 v)) >> 8 == floor(mean(v)) >> 2).
int sample_bits(const AVPixFmtDescriptor* d) {
  return d->comp[0].depth + d->comp[0].shift;
}

bool analysable(const AVPixFmtDescriptor* d) {
  return d && !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_PAL)) &&
         sample_bits(d) <= 16 && (sample_bits(d) > 8 ? d->comp[0].step == 2 : d->comp[0].step == 1);
}

}  // namespace

kernels::LumaView luma_view(const AVFrame* frame) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame->format));
  if (!analysable(d))
    throw Error(ErrorCode::kInput,
                std::string("pixel format not supported for analysis: ") + (d ? d->name : "unknown"));
  return kernels::LumaView{frame->data[0], frame->linesize[0], frame->width, frame->height, sample_bits(d)};
}

kernels::AnalysisFrame analysis_frame(const AVFrame* frame, bool hold) {
  kernels::AnalysisFrame f;
  if (frame->format == AV_PIX_FMT_CUDA) {
    const auto* frames_ctx = frame->hw_frames_ctx
                                 ? reinterpret_cast<const AVHWFramesContext*>(frame->hw_frames_ctx->data)
                                 : nullptr;
    const AVPixFmtDescriptor* d = frames_ctx ? av_pix_fmt_desc_get(frames_ctx->sw_format) : nullptr;
    if (!analysable(d))
      throw Error(ErrorCode::kInput,
                  std::string("NVDEC pixel format not supported for analysis: ") + (d ? d->name : "unknown"));
    // data[0] is the device address of the surface's luma plane: the CUDA kernels read it in place.
    f.luma =
        kernels::LumaView{frame->data[0], frame->linesize[0], frame->width, frame->height, sample_bits(d)};
    f.memory = kernels::FrameMemory::kCudaDevice;
  } else {
    f.luma = luma_view(frame);
  }
  if (hold) {
    AVFrame* ref = av_frame_clone(frame);  // a reference, not a copy of the pixels
    if (!ref) throw std::bad_alloc();
    f.owner = std::shared_ptr<const void>(ref, [](const void* p) {
      auto* owned = const_cast<AVFrame*>(static_cast<const AVFrame*>(p));
      av_frame_free(&owned);
    });
  }
  return f;
}

namespace {

struct Range {
  int first = 0;  // frame index of a keyframe
  int last = 0;   // exclusive
};

struct RangeResult {
  std::vector<kernels::FrameMeasure> measures;  // indexed by frame - range.first
  std::vector<bool> decoded;
  kernels::ReducedLuma first_plane;
  kernels::ReducedLuma last_plane;
  bool first_decoded = false;
};

// How a range is decoded and analysed, and the counters all ranges share.
struct RangeContext {
  const MediaInfo& info;
  int factor = 1;
  FrameReader::Options reader;
  bool hold_frames = false;  // the analyzer is asynchronous: frames must outlive submit
  std::atomic<int>& done;
  std::atomic<int>& device_frames;
  std::atomic<int>& host_frames;
  const std::function<void(int)>& report;
  const std::atomic<bool>* cancel;
};

// Keyframe ranges of roughly equal frame counts, several per thread so a slow range does not idle others.
std::vector<Range> make_ranges(const MediaInfo& info, int threads) {
  const int total = static_cast<int>(info.frames.size());
  const int wanted = std::max(1, threads * 4);
  const int target = std::max(1, total / wanted);
  std::vector<Range> ranges;
  int start = 0;
  for (std::size_t k = 1; k < info.keyframes.size(); ++k) {
    const int kf = info.keyframes[k];
    if (kf - start >= target) {
      ranges.push_back({start, kf});
      start = kf;
    }
  }
  ranges.push_back({start, total});
  return ranges;
}

void analyze_range(const RangeContext& c, const Range& range, kernels::LumaAnalyzer& analyzer,
                   RangeResult& out) {
  const MediaInfo& info = c.info;
  FrameReader reader(info.path, info.video_stream, c.reader);
  std::vector<SeekPoint> entry;
  if (range.first > 0) {
    // The range's keyframe, and the one before it in case the demuxer's seek lands late.
    const int prev = keyframe_at_or_before(info, range.first - 1);
    for (int k : {prev, range.first})
      if (k > 0 && (entry.empty() || entry.back().pts < info.frames[k].pts))
        entry.push_back({info.frames[k].pts, info.frames[k].dts});
  }
  reader.start_at(info.frames[range.first].pts, entry);
  const int n = range.last - range.first;
  out = RangeResult{};
  out.measures.resize(n);
  out.decoded.assign(n, false);
  std::vector<kernels::AnalysisResult> results;
  auto take = [&] {
    for (auto& r : results) {
      const int i = static_cast<int>(r.tag) - range.first;
      out.measures[i] = r.measure;
      out.decoded[i] = true;
      if (i == 0) {
        out.first_plane = r.plane;
        out.first_decoded = true;
      }
      if (r.tag == range.last - 1) out.last_plane = std::move(r.plane);
    }
    results.clear();
  };
  int prev_index = -1;
  int seen = 0;
  while (seen < n) {
    if (stop_requested(c.cancel)) throw Error(ErrorCode::kInterrupted, "analysis cancelled");
    AVFrame* frame = reader.next();
    if (!frame) break;
    const int index = frame_with_pts(info, frame->pts);
    if (index < 0) continue;
    if (index >= range.last) break;
    kernels::AnalysisFrame af = analysis_frame(frame, c.hold_frames);
    if (!analyzer.accepts(af.memory))
      throw kernels::GpuError(std::string("the ") + analyzer.name() +
                              " kernel cannot read frames in GPU memory");
    af.tag = index;
    af.factor = c.factor;
    af.continues = prev_index >= 0 && prev_index == index - 1;
    af.keep_plane = index == range.first || index == range.last - 1;  // for stitching the ranges
    analyzer.submit(af);
    ++(af.memory == kernels::FrameMemory::kHost ? c.host_frames : c.device_frames);
    analyzer.poll(results);
    take();
    prev_index = index;
    ++seen;
    const int total = ++c.done;
    if (c.report && (total % 16 == 0)) c.report(total);
  }
  analyzer.flush(results);
  take();
}

}  // namespace

std::vector<SceneSummary> summarize_scenes(const MediaInfo& info, const std::vector<FrameStats>& frames,
                                           const std::vector<SceneCut>& cuts) {
  std::vector<SceneSummary> scenes;
  const int total = static_cast<int>(frames.size());
  std::vector<std::pair<int, double>> starts{{0, 0.0}};
  for (const auto& c : cuts) starts.emplace_back(c.frame, c.score);
  for (std::size_t s = 0; s < starts.size(); ++s) {
    SceneSummary sc;
    sc.start_frame = starts[s].first;
    sc.end_frame = s + 1 < starts.size() ? starts[s + 1].first : total;
    sc.cut_score = starts[s].second;
    sc.start_s = info.seconds(info.frames[sc.start_frame].pts - info.start_pts());
    const std::int64_t end_pts = sc.end_frame < total ? info.frames[sc.end_frame].pts : info.end_pts();
    sc.duration_s = info.seconds(end_pts - info.frames[sc.start_frame].pts);
    double sp = 0, tp = 0;
    int n = 0;
    for (int f = sc.start_frame; f < sc.end_frame; ++f) {
      if (!frames[f].decoded) continue;
      sp += frames[f].spatial;
      tp += frames[f].temporal;
      ++n;
    }
    if (n) {
      sc.mean_spatial = sp / n;
      sc.mean_temporal = tp / n;
    }
    scenes.push_back(sc);
  }
  return scenes;
}

Analysis analyze_frames(const MediaInfo& info, const AnalysisOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  Analysis a;
  // Every GPU trouble is one warning line per analysis, and it is recorded in the report.
  std::mutex fallback_mutex;
  const WarnFn warn_first = warn_once(options.warn);
  const WarnFn note_fallback = [&](const std::string& message) {
    {
      std::lock_guard lock(fallback_mutex);
      if (a.fallback.empty()) a.fallback = message;
    }
    warn_first(message);
  };
  AnalysisEngine opened;
  if (!options.engine) opened = open_analysis_backend(options.backend, /*want_nvdec=*/true, note_fallback);
  const AnalysisEngine& engine = options.engine ? *options.engine : opened;
  if (!engine.fallback.empty() && a.fallback.empty()) a.fallback = engine.fallback;

  const int threads = options.threads > 0 ? options.threads : usable_cores();
  const auto ranges = make_ranges(info, threads);
  const int range_threads = std::min<int>(threads, static_cast<int>(ranges.size()));
  // Fewer ranges than cores (sparse keyframes): let each decoder use the spare cores.
  const int decoder_threads = std::max(1, threads / std::max(1, range_threads));
  const int factor = kernels::reduction_factor(info.width, info.height);
  a.reduced_width = info.width / factor;
  a.reduced_height = info.height / factor;
  a.threads = threads;
  a.ranges = static_cast<int>(ranges.size());

  std::vector<RangeResult> results(ranges.size());
  std::atomic<std::size_t> next{0};
  std::atomic<int> done{0}, device_frames{0}, host_frames{0};
  std::atomic<bool> gpu_failed{false};
  std::mutex report_mutex;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const std::function<void(int)> report = [&](int n) {
    if (!options.progress) return;
    std::lock_guard lock(report_mutex);
    options.progress(n);
  };
  // NVDEC decodes exactly (no skipped loop filter), so a range decoded again on the CPU after a GPU
  // failure must decode exactly too for the results to stay the same.
  const bool nvdec = engine.nvdec != nullptr;
  const RangeContext gpu_ctx{info,
                             factor,
                             {.threads = decoder_threads,
                              .fast_decode = options.fast_decode && !nvdec,
                              .cuda_device = nvdec ? engine.nvdec->ref() : nullptr},
                             engine.kernels->asynchronous(),
                             done,
                             device_frames,
                             host_frames,
                             report,
                             options.cancel};
  RangeContext cpu_ctx = gpu_ctx;
  cpu_ctx.reader.cuda_device = nullptr;
  cpu_ctx.hold_frames = false;
  auto cpu_analyzer = [] { return kernels::make_cpu_backend()->make_analyzer(); };

  auto run = [&] {
    std::unique_ptr<kernels::LumaAnalyzer> analyzer;  // one stream per thread, across its ranges
    bool on_gpu = false;
    for (std::size_t r; (r = next++) < ranges.size();) {
      try {
        if (!analyzer || (on_gpu && gpu_failed)) {
          on_gpu = !gpu_failed && engine.kernels->asynchronous();
          analyzer = on_gpu ? make_analyzer(engine, 0, note_fallback) : cpu_analyzer();
        }
        try {
          analyze_range(on_gpu ? gpu_ctx : cpu_ctx, ranges[r], *analyzer, results[r]);
          if (on_gpu && std::string(analyzer->name()) != engine.name()) gpu_failed = true;  // fell back
        } catch (const kernels::GpuError& e) {
          // The frames in flight were in GPU memory: decode the range again and finish on the CPU.
          note_fallback(std::string(engine.name()) + " analysis failed (" + e.what() +
                        "); using the CPU kernel");
          gpu_failed = true;
          on_gpu = false;
          analyzer = cpu_analyzer();
          analyze_range(cpu_ctx, ranges[r], *analyzer, results[r]);
        }
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = ranges.size();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < range_threads; ++t) pool.emplace_back(run);
  run();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  a.kernel = a.fallback.empty() ? engine.name() : "cpu";
  a.decoder = device_frames == 0 ? "cpu" : host_frames == 0 ? "nvdec" : "nvdec+cpu";

  // Stitch the ranges: the first frame of each range is compared with the last of the one before.
  auto kernel = kernels::make_cpu_kernel();
  const int total = static_cast<int>(info.frames.size());
  a.frames.resize(total);
  std::vector<kernels::FrameMeasure> measures(total);
  std::vector<bool> decoded(total, false);
  for (std::size_t r = 0; r < ranges.size(); ++r) {
    auto& res = results[r];
    for (int i = 0; i < ranges[r].last - ranges[r].first; ++i) {
      measures[ranges[r].first + i] = res.measures[i];
      decoded[ranges[r].first + i] = res.decoded[i];
    }
    if (r > 0 && res.first_decoded && !results[r - 1].last_plane.pixels.empty()) {
      measures[ranges[r].first] = kernel->measure(res.first_plane, &results[r - 1].last_plane);
    }
  }
  for (int f = 0; f < total; ++f) {
    FrameStats& s = a.frames[f];
    s.decoded = decoded[f];
    if (!s.decoded) continue;
    s.spatial = kernels::spatial_complexity(measures[f]);
    s.temporal = kernels::temporal_complexity(measures[f]);
    if (f > 0 && decoded[f - 1])
      s.scene_score = kernels::histogram_difference(measures[f - 1].histogram, measures[f].histogram);
  }
  const std::vector<SceneSignal> signals = scene_signals(measures, decoded);
  for (int f = 0; f < total; ++f) {
    a.frames[f].mean_luma = signals[f].mean_luma;
    a.frames[f].shifted_score = signals[f].shifted_diff;
    a.frames[f].excess_difference = signals[f].excess_diff;
    a.frames[f].strong_change = signals[f].strong_change;
  }
  a.cuts = detect_scene_cuts(signals, options.scenes);
  a.scenes = summarize_scenes(info, a.frames, a.cuts);
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (options.progress) options.progress(total);
  return a;
}

}  // namespace pvt
