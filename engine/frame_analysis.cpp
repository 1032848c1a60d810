#include "frame_analysis.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "cancellation.hpp"
#include "error.hpp"
#include "frame_reader.hpp"
#include "scene_metrics.hpp"
#include "system_resources.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace pvt {

kernels::LumaView luma_view(const AVFrame* frame) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame->format));
  if (!d || (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_PAL)) ||
      d->comp[0].depth > 16 || (d->comp[0].depth > 8 && d->comp[0].step != 2) ||
      (d->comp[0].depth <= 8 && d->comp[0].step != 1)) {
    throw Error(ErrorCode::kInput,
                std::string("pixel format not supported for analysis: ") + (d ? d->name : "unknown"));
  }
  return kernels::LumaView{frame->data[0], frame->linesize[0], frame->width, frame->height, d->comp[0].depth};
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

void analyze_range(const MediaInfo& info, const Range& range, int factor, int decoder_threads,
                   RangeResult& out, std::atomic<int>& done, const std::function<void(int)>& report,
                   const std::atomic<bool>* cancel) {
  auto kernel = kernels::make_cpu_kernel();
  FrameReader reader(info.path, info.video_stream, {.threads = decoder_threads, .fast_decode = true});
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
  out.measures.resize(n);
  out.decoded.assign(n, false);
  kernels::ReducedLuma planes[2];
  int cur = 0;
  int prev_index = -1;
  int seen = 0;
  int index = 0;
  while (seen < n) {
    if (stop_requested(cancel)) throw Error(ErrorCode::kInterrupted, "analysis cancelled");
    AVFrame* frame = reader.next();
    if (!frame) break;
    index = frame_with_pts(info, frame->pts);
    if (index < 0) continue;
    if (index >= range.last) break;
    kernel->reduce(luma_view(frame), factor, planes[cur]);
    const bool adjacent = prev_index >= 0 && prev_index == index - 1;
    const int i = index - range.first;
    out.measures[i] = kernel->measure(planes[cur], adjacent ? &planes[1 - cur] : nullptr);
    out.decoded[i] = true;
    if (i == 0) {
      out.first_plane = planes[cur];
      out.first_decoded = true;
    }
    prev_index = index;
    cur = 1 - cur;
    ++seen;
    const int total = ++done;
    if (report && (total % 16 == 0)) report(total);
  }
  if (prev_index == range.last - 1) out.last_plane = planes[1 - cur];
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
  a.kernel = "cpu";
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
  std::atomic<int> done{0};
  std::mutex report_mutex;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto report = [&](int n) {
    if (!options.progress) return;
    std::lock_guard lock(report_mutex);
    options.progress(n);
  };
  auto run = [&] {
    for (std::size_t r; (r = next++) < ranges.size();) {
      try {
        analyze_range(info, ranges[r], factor, decoder_threads, results[r], done, report, options.cancel);
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
  std::vector<double> scores(total);
  for (int f = 0; f < total; ++f) scores[f] = a.frames[f].scene_score;
  a.cuts = detect_scene_cuts(scores, options.scenes);
  a.scenes = summarize_scenes(info, a.frames, a.cuts);
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (options.progress) options.progress(total);
  return a;
}

}  // namespace pvt
