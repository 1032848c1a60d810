#include "transcode_job.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "analysis_backend.hpp"
#include "assemble.hpp"
#include "atomic_file.hpp"
#include "child_process.hpp"
#include "encoder_choice.hpp"
#include "error.hpp"
#include "frame_analysis.hpp"
#include "media_index.hpp"
#include "segment_descriptor.hpp"
#include "system_resources.hpp"
#include "video_encoder.hpp"
#include "worker_pool.hpp"

namespace pvt {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

struct OutputTarget {
  std::string format;
  std::string final_path;  // MP4 file or HLS playlist
  fs::path dir;            // where the final files go
  fs::path work_parent;    // where the job's work directory is made (same filesystem as dir)
  HlsLayout hls;
};

void require_writable_dir(const fs::path& dir, const std::string& output) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorCode::kOutput,
                output + ": cannot write output: directory " + dir.string() + " does not exist");
  if (access(dir.c_str(), W_OK | X_OK) != 0)
    throw Error(ErrorCode::kOutput, output + ": cannot write output: " + dir.string() + " is not writable");
}

OutputTarget resolve_output(const TranscodeOptions& o) {
  if (o.output.empty()) throw Error(ErrorCode::kUsage, "no output path given (-o)");
  OutputTarget t;
  t.format = o.format;
  if (t.format.empty()) {
    t.format = (ends_with(o.output, ".mp4") || ends_with(o.output, ".m4v") || ends_with(o.output, ".mov"))
                   ? "mp4"
                   : "hls";
  }
  if (t.format != "mp4" && t.format != "hls") throw Error(ErrorCode::kUsage, "--format must be hls or mp4");
  const fs::path out = fs::absolute(o.output);
  std::error_code ec;
  if (t.format == "mp4") {
    if (fs::is_directory(out, ec))
      throw Error(ErrorCode::kOutput, o.output + ": is a directory; give a file name for MP4 output");
    t.dir = out.parent_path();
    t.final_path = out.string();
    t.work_parent = t.dir;
    require_writable_dir(t.dir, o.output);
    if (fs::exists(out, ec) && !o.overwrite)
      throw Error(ErrorCode::kOutput, o.output + ": already exists (use --overwrite to replace it)");
    return t;
  }
  if (ends_with(o.output, ".m3u8")) {
    t.dir = out.parent_path();
    t.hls.playlist_name = out.filename().string();
    t.hls.segment_prefix = out.stem().string() + "_";
    t.work_parent = t.dir;
    require_writable_dir(t.dir, o.output);
  } else {
    if (fs::exists(out, ec) && !fs::is_directory(out, ec))
      throw Error(ErrorCode::kOutput,
                  o.output + ": exists and is not a directory (HLS output is a directory or a .m3u8 path)");
    t.dir = out;
    t.hls.playlist_name = "index.m3u8";
    t.hls.segment_prefix = "segment_";
    t.work_parent = out.parent_path();
    require_writable_dir(fs::exists(out, ec) ? out : t.work_parent, o.output);
    require_writable_dir(t.work_parent, o.output);
  }
  t.final_path = (t.dir / t.hls.playlist_name).string();
  if (fs::exists(t.final_path, ec) && !o.overwrite)
    throw Error(ErrorCode::kOutput, t.final_path + ": already exists (use --overwrite to replace it)");
  return t;
}

// After an overwrite, segments of the previous output beyond the new count would linger beside the new
// playlist: remove files named like ours (PREFIX + 5 digits + .ts) that the new playlist does not list.
void remove_stale_segments(const OutputTarget& t, const std::vector<std::string>& kept) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(t.dir, ec)) {
    const std::string name = e.path().filename().string();
    const std::string& prefix = t.hls.segment_prefix;
    if (name.size() != prefix.size() + 8 || name.rfind(prefix, 0) != 0 || !ends_with(name, ".ts")) continue;
    if (!std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end() - 3, ::isdigit))
      continue;
    if (std::find(kept.begin(), kept.end(), e.path().string()) == kept.end()) fs::remove(e.path(), ec);
  }
}

// Owns the job's work directory and any temporary output: both are removed when the job ends, whether
// it succeeded, failed or was interrupted, so nothing half-written is ever left behind.
class WorkArea {
 public:
  WorkArea(const fs::path& parent, const std::string& name, bool keep) : keep_(keep) {
    // The counter keeps concurrent jobs of one process (the MCP server) apart: two HLS folders in the
    // same parent share the playlist name "index.m3u8".
    static std::atomic<int> counter{0};
    dir_ = parent / ("." + name + ".pvt-job-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (!fs::create_directories(dir_, ec) && ec)
      throw Error(ErrorCode::kOutput, dir_.string() + ": cannot create work directory: " + ec.message());
  }
  ~WorkArea() {
    std::error_code ec;
    for (const auto& t : temporaries_) fs::remove(t, ec);
    if (!keep_) fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }
  void add_temporary(const std::string& path) { temporaries_.push_back(path); }

 private:
  fs::path dir_;
  bool keep_;
  std::vector<std::string> temporaries_;
};

// Runs prepare_audio on its own thread while the workers encode video; join() rethrows its error.
class AudioJob {
 public:
  AudioJob(const MediaInfo& info, AudioMode mode, std::int64_t bitrate, std::string dir)
      : thread_([this, &info, mode, bitrate, dir] {
          try {
            track_ = prepare_audio(info, mode, bitrate, dir, &stop_);
          } catch (...) {
            error_ = std::current_exception();
          }
        }) {}
  // A job that fails or is cancelled leaves through here: stop the encode rather than wait for it.
  ~AudioJob() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  AudioTrack join() {
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(error_);
    return track_;
  }

 private:
  std::atomic<bool> stop_{false};
  AudioTrack track_;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace

TranscodeSummary transcode(const TranscodeOptions& o, const ProgressFn& progress, const WarnFn& warn) {
  const auto t0 = Clock::now();
  if (o.crf < 0 || o.crf > 51) throw Error(ErrorCode::kUsage, "--crf must be between 0 and 51");
  if (o.bitrate < 0) throw Error(ErrorCode::kUsage, "--bitrate must be positive");
  if (o.lookahead < 0 || o.lookahead > 250)
    throw Error(ErrorCode::kUsage, "--lookahead must be between 0 and 250");
  if (o.encoder_lookahead > 250) throw Error(ErrorCode::kUsage, "--encoder-lookahead must be at most 250");
  EncoderChoice encoders = choose_encoders(o.encoder, o.codec);
  if (o.analysis != "auto" && o.analysis != "index" && o.analysis != "full")
    throw Error(ErrorCode::kUsage, "--analysis must be auto, index or full");
  validate_analysis_backend(o.analysis_backend);
  const OutputTarget target = resolve_output(o);
  MediaInfo info = probe_media(o.input);
  if (info.truncated && warn)
    warn(o.input + ": " + info.truncation_reason + "; transcoding the " + std::to_string(info.frames.size()) +
         " frames that could be read");

  TranscodeSummary sum;
  sum.input = o.input;
  sum.output = target.final_path;
  sum.format = target.format;
  sum.frames = static_cast<std::int64_t>(info.frames.size());
  sum.duration_s = info.video_duration_s();
  sum.input_truncated = info.truncated;
  sum.cores = usable_cores();
  const int workers = o.workers > 0 ? o.workers : default_worker_count(info.width, info.height, o.lookahead);
  sum.threads_per_worker = o.threads_per_worker > 0 ? o.threads_per_worker : std::max(1, sum.cores / workers);
  encoders.slots.cpu = workers;
  sum.encoder = encoders.description;
  sum.codec = o.codec;
  for (const auto& h : encoders.slots.hardware) sum.hardware_sessions += h.sessions;

  JobProgress jp;
  jp.frames_total = sum.frames;
  jp.media_duration_s = sum.duration_s;
  auto emit = [&](const std::string& stage) {
    jp.stage = stage;
    jp.elapsed_s = since(t0);
    if (progress) progress(jp);
  };

  WorkArea work(target.work_parent, fs::path(target.final_path).filename().string(), o.keep_work_dir);

  // Analysis: a full decode pays off only where it is nearly free (NVDEC feeding the CUDA kernels); on
  // a CPU-only machine the plan comes from the demux index and each worker runs the kernels on the frames
  // it decodes anyway. The backend is resolved once here, and the workers get the resolved name.
  AnalysisEngine analysis_engine = open_analysis_backend(o.analysis_backend, o.analysis != "index", warn);
  sum.analysis_backend = analysis_engine.name();
  sum.analysis_fallback = analysis_engine.fallback;
  Analysis analysis;
  const bool full = o.analysis == "full" || (o.analysis == "auto" && analysis_engine.nvdec);
  if (!full) {
    // Opened only to prove it starts (else workers get "cpu" and no warnings of their own): the device
    // is theirs now.
    analysis_engine.nvdec.reset();
    analysis_engine.kernels = kernels::make_cpu_backend();
  }
  if (full) {
    const auto ta = Clock::now();
    AnalysisOptions ao;
    ao.engine = &analysis_engine;
    ao.warn = warn;
    ao.scenes = o.scenes;
    ao.progress = [&](int done) {
      jp.frames_done = done;
      emit("analyze");
    };
    ao.cancel = o.cancel;
    analysis = analyze_frames(info, ao);
    sum.analyze_s = since(ta);
    if (!analysis.fallback.empty()) {
      sum.analysis_backend = analysis.kernel;
      sum.analysis_fallback = analysis.fallback;
    }
  }
  PlanOptions po;
  po.target_s = o.segment_duration;
  po.min_s = o.min_segment;
  po.max_s = o.max_segment;
  po.workers = workers;
  po.shrink_for_workers = target.format == "mp4";
  po.total_bits =
      o.bitrate > 0 ? static_cast<std::int64_t>(static_cast<double>(o.bitrate) * sum.duration_s) : 0;
  const Plan plan = plan_segments(info, full ? &analysis : nullptr, po);
  sum.plan_basis = plan.basis;
  sum.workers = std::min<int>(workers + sum.hardware_sessions, static_cast<int>(plan.segments.size()));
  jp.segments_total = static_cast<int>(plan.segments.size());

  AudioJob audio_job(info, o.audio, o.audio_bitrate, work.dir().string());

  // Descriptors are written just before each worker starts, so bitrate mode can hand the bits that
  // finished segments saved or overspent to the segments still to come.
  const std::string job_id = std::to_string(getpid()) + "-" +
                             std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  std::vector<SegmentDescriptor> descriptors(plan.segments.size());
  std::vector<PoolTask> tasks;
  std::vector<int> seg_frames_done(plan.segments.size(), 0);
  std::vector<bool> started(plan.segments.size(), false), finished(plan.segments.size(), false);
  std::vector<std::int64_t> spent_bits(plan.segments.size(), 0);
  for (const auto& seg : plan.segments) {
    SegmentDescriptor& d = descriptors[seg.index];
    char name[32];
    std::snprintf(name, sizeof name, "seg_%05d", seg.index);
    d.job_id = job_id;
    d.segment = seg.index;
    d.input = fs::absolute(info.path).string();
    d.video_stream = info.video_stream;
    d.start_frame = seg.start_frame;
    d.end_frame = seg.end_frame;
    d.start_pts = seg.start_pts;
    d.end_pts = seg.end_pts;
    d.time_base_num = info.time_base.num;
    d.time_base_den = info.time_base.den;
    d.seek_keyframe = seg.seek_keyframe;
    d.seek_pts = info.frames[seg.seek_keyframe].pts;
    d.seek_dts = info.frames[seg.seek_keyframe].dts;
    d.frame_rate_num = info.frame_rate.num > 0 ? info.frame_rate.num : 25;
    d.frame_rate_den = info.frame_rate.num > 0 ? info.frame_rate.den : 1;
    d.encoder.backend = encoders.slots.cpu_backend;  // set per start: the slot decides
    d.encoder.codec = o.codec;
    d.encoder.preset = o.preset;
    d.encoder.crf = o.crf;
    d.encoder.threads = sum.threads_per_worker;
    d.encoder.lookahead = o.encoder_lookahead;
    d.lookahead_window = o.lookahead;
    d.forced_keyframes = seg.forced_keyframes;
    d.detect_scenes = !full;  // with a full analysis the cuts are already in forced_keyframes
    d.scene_threshold = o.scenes.threshold;
    d.min_scene_frames = o.scenes.min_scene_frames;
    d.analysis_backend = sum.analysis_backend;  // a GPU that failed here is not tried again by workers
    d.bit_budget = seg.bit_budget;
    d.output = (work.dir() / (std::string(name) + ".mp4")).string();
    d.stats = (work.dir() / (std::string(name) + ".json")).string();
    tasks.push_back({seg.index, seg.cost, seg.frame_count(),
                     (work.dir() / (std::string(name) + ".task.json")).string(), d.stats,
                     (work.dir() / (std::string(name) + ".log")).string()});
  }

  PoolCallbacks cb;
  cb.cancel = o.cancel;
  cb.before_start = [&](const PoolTask& t, const std::string& backend, const std::string& fallback_from) {
    SegmentDescriptor& d = descriptors[t.segment];
    d.encoder.backend = backend;
    d.encoder.fallback_from = fallback_from;
    d.encoder.pix_fmt = hw::input_pix_fmt(backend);
    if (po.total_bits > 0) {
      std::int64_t committed = 0;
      double waiting_weight = 0;
      for (const auto& s : plan.segments) {
        if (finished[s.index])
          committed += spent_bits[s.index];
        else if (started[s.index] && s.index != t.segment)
          committed += descriptors[s.index].bit_budget;
        else
          waiting_weight += s.complexity;
      }
      const double share = plan.segments[t.segment].complexity / std::max(waiting_weight, 1e-9);
      const double remaining = std::max(0.25 * static_cast<double>(plan.segments[t.segment].bit_budget),
                                        static_cast<double>(po.total_bits - committed) * share);
      d.bit_budget = static_cast<std::int64_t>(remaining);
      d.encoder.bitrate = std::max<std::int64_t>(
          10000, static_cast<std::int64_t>(static_cast<double>(d.bit_budget) /
                                           std::max(plan.segments[t.segment].duration_s, 1e-3)));
    }
    started[t.segment] = true;
    write_json_file(t.descriptor_path, nlohmann::json(d));
  };
  cb.on_progress = [&](int segment, int frames) {
    seg_frames_done[segment] = frames;
    std::int64_t total = 0;
    for (int f : seg_frames_done) total += f;
    jp.frames_done = total;
  };
  cb.on_done = [&](const PoolTask& t, const PoolResult& r) {
    finished[t.segment] = true;
    spent_bits[t.segment] = r.stats.bytes * 8;
    ++jp.segments_done;
  };
  auto last_emit = Clock::now();
  cb.on_tick = [&] {
    if (Clock::now() - last_emit < std::chrono::milliseconds(200)) return;
    last_emit = Clock::now();
    emit("encode");
  };

  const auto te = Clock::now();
  jp.frames_done = 0;
  emit("encode");
  const auto results = run_worker_pool(tasks, encoders.slots, o.max_attempts, current_executable(), cb);
  sum.encode_s = since(te);
  emit("encode");

  const AudioTrack audio = audio_job.join();
  sum.audio = !audio.present ? "none" : audio.codec + (audio.encoded ? " (encoded)" : " (copied)");

  emit("assemble");
  const auto tas = Clock::now();
  AssemblyInput in;
  in.video_time_base = info.time_base;
  in.audio = audio;
  in.frames = &info.frames;
  in.origin = info.start_pts();
  if (audio.present)
    in.origin = std::min(in.origin, av_rescale_q(info.audio_start_us, AV_TIME_BASE_Q, info.time_base));
  for (const auto& seg : plan.segments)
    in.segments.push_back({descriptors[seg.index].output, seg.start_pts, seg.end_pts});
  AssemblyResult assembled;
  std::string verify_path;
  fs::path staging;
  if (target.format == "mp4") {
    verify_path = temporary_sibling(target.final_path, ".mp4");
    work.add_temporary(verify_path);
    assembled = assemble_mp4(in, verify_path);
  } else {
    staging = work.dir() / "hls";
    fs::create_directories(staging);
    assembled = assemble_hls(in, staging.string(), target.hls);
    verify_path = (staging / target.hls.playlist_name).string();
  }
  sum.dts_repairs = assembled.dts_repairs;

  emit("verify");
  OutputExpectation expect;
  expect.frames = sum.frames;
  expect.duration_s = sum.duration_s;
  expect.tolerance_s = info.seconds(info.frames.back().duration);
  for (const auto& f : info.frames)
    expect.tolerance_s = std::max(expect.tolerance_s, info.seconds(f.duration));
  expect.audio = audio.present;
  sum.verified = verify_output(verify_path, expect);

  // Into place: MP4 by one rename; HLS segments first, the playlist last, so a playlist at the final
  // path always lists complete segments.
  if (target.format == "mp4") {
    rename_or_throw(verify_path, target.final_path);
    sum.files.push_back(target.final_path);
  } else {
    std::error_code ec;
    fs::create_directories(target.dir, ec);
    for (const auto& f : assembled.files) {
      const fs::path dest = target.dir / fs::path(f).filename();
      rename_or_throw(f, dest.string());
      sum.files.push_back(dest.string());
    }
    remove_stale_segments(target, sum.files);
  }
  sum.assemble_s = since(tas);

  for (const auto& f : sum.files) sum.output_bytes += static_cast<std::int64_t>(fs::file_size(f));
  std::int64_t video_bytes = 0;
  for (const auto& seg : plan.segments) {
    const auto& r = results[seg.index];
    SegmentReport sr;
    sr.index = seg.index;
    sr.start_frame = seg.start_frame;
    sr.frames = seg.frame_count();
    sr.start_s = seg.start_s;
    sr.duration_s = seg.duration_s;
    sr.cut_reason = seg.cut_reason;
    sr.backend = r.stats.backend;
    sr.attempts = r.attempts;
    sr.fallback_from = r.fallback_from;
    sr.fallback_reason = r.fallback_reason;
    sr.encode_seconds = r.stats.encode_seconds;
    sr.cpu_seconds = r.stats.cpu_seconds;
    sr.bytes = r.stats.bytes;
    sr.target_bitrate = descriptors[seg.index].encoder.bitrate;
    sr.keyframes = static_cast<int>(r.stats.keyframes.size());
    sr.detected_cuts = static_cast<int>(r.stats.detected_cuts.size());
    sr.decoded_frames = r.stats.decoded_frames;
    sr.analysis_kernel = r.stats.analysis_kernel;
    sum.worker_cpu_s += r.stats.cpu_seconds;
    video_bytes += r.stats.bytes;
    sum.segments.push_back(sr);
  }
  sum.video_bitrate = sum.duration_s > 0 ? static_cast<double>(video_bytes) * 8 / sum.duration_s : 0;
  sum.wall_s = since(t0);
  sum.speed = sum.wall_s > 0 ? sum.duration_s / sum.wall_s : 0;
  sum.fps = sum.wall_s > 0 ? static_cast<double>(sum.frames) / sum.wall_s : 0;
  sum.parallel_efficiency = sum.encode_s > 0 ? sum.worker_cpu_s / (sum.encode_s * sum.cores) : 0;
  jp.frames_done = sum.frames;
  emit("done");
  return sum;
}

}  // namespace pvt
