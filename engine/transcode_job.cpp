#include "transcode_job.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "analysis_backend.hpp"
#include "assemble.hpp"
#include "atomic_file.hpp"
#include "child_process.hpp"
#include "encoder_choice.hpp"
#include "error.hpp"
#include "frame_analysis.hpp"
#include "job_dir.hpp"
#include "job_state.hpp"
#include "media_index.hpp"
#include "output_plan.hpp"
#include "segment_descriptor.hpp"
#include "subtitle_track.hpp"
#include "system_resources.hpp"
#include "timeline_svg.hpp"
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
  fs::path work_parent;    // where the job folder is made (same filesystem as dir)
  std::string job_name;    // names the job folder: one per output, so a rerun finds it
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
  if (t.format.empty()) t.format = format_for_output_name(o.output);
  if (t.format != "mp4" && t.format != "hls" && t.format != "mkv" && t.format != "webm")
    throw Error(ErrorCode::kUsage, "--format must be hls, mp4, mkv or webm");
  fs::path out = fs::absolute(o.output).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();  // "out/" names the folder "out"
  std::error_code ec;
  if (t.format != "hls") {
    if (fs::is_directory(out, ec))
      throw Error(ErrorCode::kOutput,
                  o.output + ": is a directory; give a file name for " + t.format + " output");
    t.dir = out.parent_path();
    t.final_path = out.string();
    t.work_parent = t.dir;
    t.job_name = out.filename().string();
    require_writable_dir(t.dir, o.output);
    if (fs::exists(out, ec) && !o.overwrite)
      throw Error(ErrorCode::kOutput, o.output + ": already exists (use --overwrite to replace it)");
    return t;
  }
  if (ends_with(o.output, ".m3u8")) {
    t.dir = out.parent_path();
    t.hls.playlist_name = out.filename().string();
    t.hls.segment_prefix = out.stem().string() + "_";
    t.hls.stem = out.stem().string();
    t.work_parent = t.dir;
    t.job_name = out.filename().string();
    require_writable_dir(t.dir, o.output);
  } else {
    if (fs::exists(out, ec) && !fs::is_directory(out, ec))
      throw Error(ErrorCode::kOutput,
                  o.output + ": exists and is not a directory (HLS output is a directory or a .m3u8 path)");
    t.dir = out;
    t.hls.playlist_name = "index.m3u8";
    t.hls.segment_prefix = "segment_";
    t.hls.stem = "index";
    t.work_parent = out.parent_path();
    t.job_name = out.filename().string();
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

// What the output carries beside the video, made ready on its own thread while the workers encode:
// every kept audio track (each encoded once, or copied) and subtitle track (copied or converted).
struct SideTracks {
  std::vector<AudioTrack> audio;
  std::vector<SubtitleTrack> subtitles;
};

// Runs the preparation on its own thread; join() rethrows its error.
class SideTracksJob {
 public:
  SideTracksJob(const MediaInfo& info, const OutputPlan& plan, std::int64_t bitrate, std::string dir)
      : thread_([this, &info, &plan, bitrate, dir] {
          try {
            for (const auto& s : plan.streams) {
              if (s.action == "drop") continue;
              if (s.type == "audio")
                tracks_.audio.push_back(
                    prepare_audio(info, s.input, s.action == "convert", bitrate, dir, &stop_));
              if (s.type == "subtitle")
                tracks_.subtitles.push_back(prepare_subtitles(info.path, s.input, s.output_codec, &stop_));
            }
          } catch (...) {
            error_ = std::current_exception();
          }
        }) {}
  // A job that fails or is cancelled leaves through here: stop the encode rather than wait for it.
  ~SideTracksJob() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  SideTracks join() {
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(error_);
    return std::move(tracks_);
  }

 private:
  std::atomic<bool> stop_{false};
  SideTracks tracks_;
  std::exception_ptr error_;
  std::thread thread_;
};

std::string segment_name(int index) {
  char name[32];
  std::snprintf(name, sizeof name, "seg_%05d", index);
  return name;
}

// The job's own check of a finished segment, independent of what its worker claims: it must demux to
// its frames with increasing timestamps.
std::string check_segment_file(const std::string& path, int expected_frames) {
  try {
    const OutputReport r = inspect_output(path);
    if (r.video_frames != expected_frames)
      return "segment file holds " + std::to_string(r.video_frames) + " frames, expected " +
             std::to_string(expected_frames);
    if (!r.dts_monotonic) return "segment file has timestamps out of order";
  } catch (const std::exception& e) {
    return std::string("segment file is unreadable: ") + e.what();
  }
  return {};
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

OutputChoices output_choices(const TranscodeOptions& o, const std::string& format) {
  OutputChoices c;
  c.format = format;
  c.codec = o.codec;
  c.bit_depth = o.bit_depth;
  c.tonemap = o.tonemap;
  c.audio = o.audio;
  c.audio_tracks = o.audio_tracks;
  c.subtitles = o.subtitles;
  c.streams = o.streams;
  return c;
}

std::string audio_summary(const std::vector<AudioTrack>& tracks) {
  std::string s;
  for (const auto& t : tracks) {
    if (!t.present) continue;
    s += (s.empty() ? "" : ", ") + t.codec + (t.encoded ? " (encoded)" : " (copied)");
  }
  return s.empty() ? "none" : s;
}

// Everything assembly needs beside the segments: the tracks, and what to copy from the input.
AssemblyInput assembly_input(const MediaInfo& info, const OutputPlan& plan, SideTracks side) {
  AssemblyInput in;
  in.source = info.path;
  in.source_video = info.video_stream;
  in.video_time_base = info.time_base;
  in.frame_rate = av_q2d(info.frame_rate);
  in.frames = &info.frames;
  for (auto& a : side.audio)
    if (a.present) in.audio.push_back(std::move(a));
  in.subtitles = std::move(side.subtitles);
  for (const auto& s : plan.streams)
    if (s.type == "attachment" && s.action != "drop") in.attachments.push_back(s.input);
  in.chapters = plan.chapters;
  in.global_metadata = plan.global_metadata;
  in.video_side_data.display_matrix = plan.video.keep_matrix;
  if (plan.video.keep_hdr_metadata && plan.format != "hls") {
    in.video_side_data.master_display = plan.video.master_display;
    if (info.display.has_light_level) {
      in.video_side_data.max_cll = info.display.max_cll;
      in.video_side_data.max_fall = info.display.max_fall;
    }
  }
  // The earliest start over the video and every kept audio track becomes zero.
  in.origin = info.start_pts();
  for (const auto& a : in.audio)
    in.origin = std::min(in.origin,
                         av_rescale_q(info.streams[a.input_stream].start_us, AV_TIME_BASE_Q, info.time_base));
  return in;
}

}  // namespace

// The options that shape the output: a resumed job must be run with the same ones. Worker and thread
// counts, kernels and progress are not among them (they change how fast, not what).
nlohmann::json output_settings(const TranscodeOptions& o, const std::string& format) {
  using nlohmann::json;
  return json{{"format", format},
              {"codec", o.codec},
              {"encoder", o.encoder},
              {"preset", o.preset},
              {"crf", o.bitrate > 0 ? json() : json(o.crf)},
              {"bitrate", o.bitrate},
              {"segment_duration", o.segment_duration},
              {"min_segment", o.min_segment},
              {"max_segment", o.max_segment},
              {"lookahead", o.lookahead},
              {"encoder_lookahead", o.encoder_lookahead},
              {"preroll", o.preroll},
              {"analysis", o.analysis},
              {"scene_threshold", o.scenes.threshold},
              {"min_scene_frames", o.scenes.min_scene_frames},
              {"audio", audio_mode_name(o.audio)},
              {"audio_bitrate", o.audio_bitrate},
              {"bit_depth", o.bit_depth},
              {"tonemap", o.tonemap},
              {"audio_tracks", o.audio_tracks},
              {"subtitles", o.subtitles},
              {"streams", o.streams}};
}

TranscodeSummary transcode(const TranscodeOptions& o, const ProgressFn& progress, const WarnFn& warn,
                           SavedJob* saved) {
  const auto t0 = Clock::now();
  if (o.crf < 0 || o.crf > 51) throw Error(ErrorCode::kUsage, "--crf must be between 0 and 51");
  if (o.bitrate < 0) throw Error(ErrorCode::kUsage, "--bitrate must be positive");
  if (o.lookahead < 0 || o.lookahead > 250)
    throw Error(ErrorCode::kUsage, "--lookahead must be between 0 and 250");
  if (o.encoder_lookahead > 250) throw Error(ErrorCode::kUsage, "--encoder-lookahead must be at most 250");
  if (o.preroll < 0 || o.preroll > 64) throw Error(ErrorCode::kUsage, "--preroll must be between 0 and 64");
  if (o.worker_timeout_s < 0) throw Error(ErrorCode::kUsage, "--worker-timeout must not be negative");
  if (o.max_memory < 0) throw Error(ErrorCode::kUsage, "--max-memory must not be negative");
  if (o.resume && o.restart) throw Error(ErrorCode::kUsage, "--resume and --restart exclude each other");
  EncoderChoice encoders = choose_encoders(o.encoder, o.codec, o.hw_sessions);
  if (o.analysis != "auto" && o.analysis != "index" && o.analysis != "full")
    throw Error(ErrorCode::kUsage, "--analysis must be auto, index or full");
  validate_analysis_backend(o.analysis_backend);
  const OutputTarget target = resolve_output(o);
  MediaInfo info = probe_media(o.input);
  if (info.truncated && warn)
    warn(o.input + ": " + info.truncation_reason + "; transcoding the " + std::to_string(info.frames.size()) +
         " frames that could be read");

  const OutputPlan output_plan = plan_output(info, output_choices(o, target.format));
  for (const auto& w : output_plan.warnings)
    if (warn) warn(o.input + ": " + w);
  for (const auto& n : output_plan.notes)
    if (o.note) o.note(n);
  if (output_plan.video.pix_fmt != "yuv420p" && !encoders.slots.hardware.empty()) {
    // Hardware sessions take 8-bit 4:2:0 surfaces here: a deeper or wider picture is encoded on the CPU,
    // every segment alike, so the segments join.
    if (warn)
      warn("hardware encoders take 8-bit 4:2:0 here; " + output_plan.video.pix_fmt +
           " is encoded on the CPU");
    encoders.slots.hardware.clear();
    encoders.slots.cpu_fallback_only = false;
    encoders.description = encoders.slots.cpu_backend;
  }

  // The job folder, locked for this run. Its state decides between a fresh start and a resume.
  JobDir job(JobDir::path_for(target.work_parent, target.job_name), target.final_path);
  const std::string input_path = fs::weakly_canonical(fs::absolute(info.path)).string();
  const InputFingerprint fingerprint =
      fingerprint_input(input_path, static_cast<std::int64_t>(info.frames.size()));
  const nlohmann::json settings = output_settings(o, target.format);
  std::string damaged;
  std::optional<JobState> previous = o.restart ? std::nullopt : job.load(&damaged);
  if (!damaged.empty() && warn) warn(job.state_path().string() + ": " + damaged + "; starting the job over");
  if (previous && previous->status == "complete") previous.reset();  // kept by --keep-work: nothing to resume
  if (previous) {
    const auto conflicts = resume_conflicts(*previous, fingerprint, settings);
    if (!conflicts.empty()) {
      job.keep(true);  // its finished work stays until the user decides
      throw Error(ErrorCode::kUsage,
                  target.final_path + ": cannot resume the interrupted job (" + join(conflicts, "; ") +
                      "); run the same command as before, or add --restart to discard its " +
                      std::to_string(previous->finished.size()) + " finished segment(s)");
    }
  } else if (o.resume) {
    throw Error(ErrorCode::kUsage, target.final_path + ": there is no interrupted job to resume");
  }
  const bool resuming = previous.has_value();

  TranscodeSummary sum;
  sum.input = o.input;
  sum.output = target.final_path;
  sum.format = target.format;
  sum.frames = static_cast<std::int64_t>(info.frames.size());
  sum.duration_s = info.video_duration_s();
  sum.input_truncated = info.truncated;
  sum.cores = usable_cores();
  sum.resumed = resuming;
  sum.memory_budget = o.max_memory > 0 ? o.max_memory : memory_budget_bytes();
  const std::int64_t worker_memory =
      estimated_worker_memory(info.width, info.height, o.lookahead,
                              o.encoder_lookahead >= 0 ? o.encoder_lookahead : preset_rc_lookahead(o.preset));
  const int workers = o.workers > 0 ? o.workers : default_worker_count(worker_memory, sum.memory_budget);
  sum.threads_per_worker = o.threads_per_worker > 0 ? o.threads_per_worker
                           : resuming               ? previous->threads_per_worker
                                                    : std::max(1, sum.cores / workers);
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

  JobState state;
  bool state_saved = false;
  // What a job that ends without success leaves: with a state worth resuming from (finished segments,
  // or a full disk the user will clear), the folder stays and the message says how to go on; otherwise
  // everything goes. A job cancelled through its own flag is gone on purpose.
  auto failed = [&](ErrorCode code, const std::string& what) -> Error {
    const bool cancelled = code == ErrorCode::kInterrupted && o.cancel && o.cancel->load();
    const bool keep =
        state_saved && !cancelled &&
        (code == ErrorCode::kInterrupted || code == ErrorCode::kOutput || !state.finished.empty());
    if (!keep) {
      job.keep(o.keep_work_dir);
      return Error(code, what);
    }
    state.status = code == ErrorCode::kInterrupted ? "interrupted" : "failed";
    state.message = what;
    std::vector<std::string> kept{"job.json"};
    for (const auto& f : state.finished) {
      kept.push_back(f.file);
      kept.push_back(segment_name(f.index) + ".json");
      kept.push_back(segment_name(f.index) + ".log");
    }
    try {
      job.save(state);
    } catch (const Error&) {
      // A full disk may refuse even this: the last state saved (after the last finished segment) stands.
    }
    if (!o.keep_work_dir) job.clear_except(kept);
    job.keep(true);
    if (saved) {
      saved->dir = job.dir().string();
      saved->segments_done = static_cast<int>(state.finished.size());
      saved->segments_total = static_cast<int>(state.plan.size());
    }
    if (code == ErrorCode::kInterrupted) return Error(code, what);
    const std::string kept_text = std::to_string(state.finished.size()) + " of " +
                                  std::to_string(state.plan.size()) + " segments are finished and kept";
    if (is_out_of_space(what))
      return Error(code, what + "; " + kept_text +
                             ": free some space (or raise the file-size limit) and run the same command "
                             "again to resume");
    if (code == ErrorCode::kInput) {
      // The input could not be read where the segment needs it. Damage fails the same way on every run,
      // but a passing read error (a network share that dropped, a disk that went away) does not, and the
      // finished work must not be lost to a guess: kept, with both readings spelled out.
      std::error_code ec;
      if (!fs::exists(o.input, ec))
        return Error(
            code, what + "; " + kept_text + ": put the input back and run the same command again to resume");
      return Error(code, what + "; " + kept_text + " in " + job.dir().string() +
                             ": if the input was only unreadable for a moment, run the same command again to "
                             "resume; if it is damaged, delete that folder");
    }
    return Error(code, what + "; " + kept_text + ": run the same command again to resume");
  };

  try {
    // A resume starts from a clean folder: whatever a killed run left half-written goes, finished
    // segments stay if their checksums still match.
    if (resuming) {
      state = *previous;
      std::vector<std::string> keep_files{"job.json"};
      std::vector<FinishedSegment> verified;
      for (const auto& f : state.finished) {
        const fs::path file = job.dir() / f.file;
        std::string why;
        std::error_code ec;
        if (!fs::exists(file, ec))
          why = "its file is missing";
        else if (sha256_file(file.string()) != f.sha256)
          why = "its file changed since it was written (checksum mismatch)";
        if (!why.empty()) {
          if (warn) warn("segment " + std::to_string(f.index) + ": " + why + "; encoding it again");
          continue;
        }
        verified.push_back(f);
        keep_files.push_back(f.file);
        keep_files.push_back(segment_name(f.index) + ".json");
        keep_files.push_back(segment_name(f.index) + ".log");
      }
      state.finished = verified;
      job.clear_except(keep_files);
      if (o.note)
        o.note("resuming the interrupted job: " + std::to_string(state.finished.size()) + " of " +
               std::to_string(state.plan.size()) + " segments are finished (checksums verified)");
    } else {
      job.clear_except({});
    }

    // Analysis: a full decode pays off only where it is nearly free (NVDEC feeding the CUDA kernels); on
    // a CPU-only machine the plan comes from the demux index and each worker runs the kernels on the
    // frames it decodes anyway. The backend is resolved once here, and the workers get the resolved name.
    AnalysisEngine analysis_engine = open_analysis_backend(o.analysis_backend, o.analysis != "index", warn);
    sum.analysis_backend = analysis_engine.name();
    sum.analysis_fallback = analysis_engine.fallback;
    Analysis analysis;
    const bool full = o.analysis == "full" || (o.analysis == "auto" && analysis_engine.nvdec);
    if (!full || resuming) {
      // Opened only to prove it starts (else workers get "cpu" and no warnings of their own): the
      // device is theirs now.
      analysis_engine.nvdec.reset();
      analysis_engine.kernels = kernels::make_cpu_backend();
    }
    PlanOptions po;
    po.target_s = o.segment_duration;
    po.min_s = o.min_segment;
    po.max_s = o.max_segment;
    po.workers = workers;
    // File outputs: segments are internal, balanced by cost. Not in bitrate mode: x264's ABR overshoots on
    // the short heavy segments a cost balance makes (+12 % measured with 1 s pieces), so there the plan
    // cuts by length as the bit budgets assume.
    po.shrink_for_workers = target.format != "hls" && o.bitrate == 0;
    po.total_bits =
        o.bitrate > 0 ? static_cast<std::int64_t>(static_cast<double>(o.bitrate) * sum.duration_s) : 0;
    Plan plan;
    if (resuming) {
      plan.segments = state.plan;  // the same cuts, so finished segments fit
      plan.basis = state.plan_basis;
    } else {
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
      plan = plan_segments(info, full ? &analysis : nullptr, po);
      state.job_id = std::to_string(getpid()) + "-" +
                     std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
      state.output = target.final_path;
      state.format = target.format;
      state.input = fingerprint;
      state.settings = settings;
      state.threads_per_worker = sum.threads_per_worker;
      state.plan_basis = plan.basis;
      state.plan = plan.segments;
      state.started = utc_now_text();
    }
    state.status = "running";
    state.message.clear();
    job.save(state);
    state_saved = true;
    sum.plan_basis = plan.basis;
    sum.workers = std::min<int>(workers + sum.hardware_sessions, static_cast<int>(plan.segments.size()));
    jp.segments_total = static_cast<int>(plan.segments.size());

    SideTracksJob side_job(info, output_plan, o.audio_bitrate, job.dir().string());

    // Descriptors are written just before each worker starts, so bitrate mode can hand the bits that
    // finished segments saved or overspent to the segments still to come.
    std::vector<SegmentDescriptor> descriptors(plan.segments.size());
    std::vector<PoolTask> tasks;
    std::vector<int> seg_frames_done(plan.segments.size(), 0);
    std::vector<bool> started(plan.segments.size(), false), finished(plan.segments.size(), false);
    std::vector<std::int64_t> spent_bits(plan.segments.size(), 0);
    std::vector<PoolResult> results(plan.segments.size());
    for (const auto& seg : plan.segments) {
      SegmentDescriptor& d = descriptors[seg.index];
      const std::string name = segment_name(seg.index);
      d.job_id = state.job_id;
      d.segment = seg.index;
      d.input = input_path;
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
      d.encoder.preroll = o.preroll;
      d.lookahead_window = o.lookahead;
      d.forced_keyframes = seg.forced_keyframes;
      d.detect_scenes = plan.basis != "analysis";  // after a full analysis the cuts are in forced_keyframes
      d.scene_threshold = o.scenes.threshold;
      d.min_scene_frames = o.scenes.min_scene_frames;
      d.analysis_backend = sum.analysis_backend;  // a GPU that failed here is not tried again by workers
      d.video_filter = output_plan.video.filter;
      d.encoder.pix_fmt = output_plan.video.pix_fmt;
      d.encoder.master_display = output_plan.video.master_display;
      d.encoder.max_cll = output_plan.video.max_cll;
      d.bit_budget = seg.bit_budget;
      d.output = (job.dir() / (name + ".mp4")).string();
      d.stats = (job.dir() / (name + ".json")).string();
      if (const FinishedSegment* f = state.finished_segment(seg.index)) {
        PoolResult& r = results[seg.index];
        r.stats = f->stats;
        r.attempts = f->attempts;
        r.fallback_from = f->fallback_from;
        r.fallback_reason = f->fallback_reason;
        r.peak_rss_bytes = f->peak_rss_bytes;
        d.encoder.bitrate = f->target_bitrate;
        finished[seg.index] = started[seg.index] = true;
        spent_bits[seg.index] = f->stats.bytes * 8;
        seg_frames_done[seg.index] = seg.frame_count();
        ++jp.segments_done;
        continue;
      }
      tasks.push_back({seg.index, seg.cost, seg.frame_count(), (job.dir() / (name + ".task.json")).string(),
                       d.stats, (job.dir() / (name + ".log")).string()});
    }
    sum.segments_reused = static_cast<int>(state.finished.size());

    PoolCallbacks cb;
    cb.cancel = o.cancel;
    PoolRunStats run_stats;
    cb.run_stats = &run_stats;
    cb.before_start = [&](const PoolTask& t, const std::string& backend, const std::string& fallback_from) {
      SegmentDescriptor& d = descriptors[t.segment];
      d.encoder.backend = backend;
      d.encoder.fallback_from = fallback_from;
      if (hw::is_hardware_backend(backend)) d.encoder.pix_fmt = hw::input_pix_fmt(backend);
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
    cb.check_output = [&](const PoolTask& t) {
      return check_segment_file(descriptors[t.segment].output, t.expected_frames);
    };
    cb.on_done = [&](const PoolTask& t, const PoolResult& r) {
      finished[t.segment] = true;
      spent_bits[t.segment] = r.stats.bytes * 8;
      ++jp.segments_done;
      // Recorded at once, with the file's checksum: from here on a killed job keeps this segment.
      const SegmentDescriptor& d = descriptors[t.segment];
      FinishedSegment f;
      f.index = t.segment;
      f.file = fs::path(d.output).filename().string();
      f.sha256 = sha256_file(d.output);
      f.stats = r.stats;
      f.attempts = r.attempts;
      f.fallback_from = r.fallback_from;
      f.fallback_reason = r.fallback_reason;
      f.target_bitrate = d.encoder.bitrate;
      f.peak_rss_bytes = r.peak_rss_bytes;
      state.finished.push_back(f);
      job.save(state);
    };
    auto last_emit = Clock::now();
    cb.on_tick = [&] {
      if (Clock::now() - last_emit < std::chrono::milliseconds(200)) return;
      last_emit = Clock::now();
      emit("encode");
    };

    const auto te = Clock::now();
    {
      std::int64_t total = 0;
      for (int f : seg_frames_done) total += f;
      jp.frames_done = total;
    }
    emit("encode");
    PoolLimits limits;
    limits.max_attempts = o.max_attempts;
    limits.watchdog_s = o.worker_timeout_s;
    limits.memory_budget = o.workers > 0 && o.max_memory == 0 ? 0 : sum.memory_budget;
    limits.worker_memory = worker_memory;
    if (!tasks.empty()) {
      const auto ran = run_worker_pool(tasks, encoders.slots, limits, current_executable(), cb);
      for (const auto& t : tasks) results[t.segment] = ran[t.segment];
    }
    sum.segments_encoded = static_cast<int>(tasks.size());
    sum.max_concurrent_workers = run_stats.max_running;
    sum.memory_waits = run_stats.held_back_for_memory;
    sum.encode_s = since(te);
    emit("encode");

    SideTracks side = side_job.join();
    sum.audio = audio_summary(side.audio);
    sum.audio_tracks = static_cast<int>(side.audio.size());
    sum.subtitle_tracks = static_cast<int>(side.subtitles.size());
    sum.fidelity_warnings = output_plan.warnings;

    emit("assemble");
    const auto tas = Clock::now();
    AssemblyInput in = assembly_input(info, output_plan, std::move(side));
    for (const auto& seg : plan.segments)
      in.segments.push_back({descriptors[seg.index].output, seg.start_pts, seg.end_pts});
    AssemblyResult assembled;
    std::string verify_path;
    fs::path staging;
    // Assembled inside the job folder (same filesystem as the output, so the final rename is atomic):
    // a job killed while assembling leaves nothing beside the output, and its resume clears it.
    if (target.format != "hls") {
      verify_path = (job.dir() / ("output." + target.format + ".part")).string();
      assembled = assemble_file(in,
                                target.format == "mp4"    ? "mp4"
                                : target.format == "webm" ? "webm"
                                                          : "matroska",
                                verify_path);
    } else {
      staging = job.dir() / "hls";
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
    expect.audio = !in.audio.empty();
    expect.fidelity = expected_fidelity(info, output_plan);
    // An audio track that yielded no packet at all (damaged) is not a reason to fail the video: say so.
    for (std::size_t i = in.audio.size(); i-- > 0;) {
      if (assembled.audio_packets_per_track[i] > 0) continue;
      if (warn)
        warn(o.input + ": audio stream " + std::to_string(in.audio[i].input_stream) +
             " could not be read (damaged?); the output has no such track");
      if (expect.fidelity.audio)
        expect.fidelity.audio->erase(expect.fidelity.audio->begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (!in.audio.empty() && assembled.audio_packets == 0) {
      expect.audio = false;
      expect.fidelity.audio.reset();
      expect.fidelity.av_start_offset_s.reset();
      sum.audio = "none (unreadable)";
    }
    sum.verified = verify_output(verify_path, expect);

    // Into place: MP4 by one rename; HLS segments first, the playlist last, so a playlist at the final
    // path always lists complete segments.
    if (target.format != "hls") {
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
    job.keep(o.keep_work_dir);  // done: the state has served its purpose
    if (o.keep_work_dir) {
      state.status = "complete";
      job.save(state);
    }

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
      sr.reused =
          state.finished_segment(seg.index) != nullptr &&
          std::none_of(tasks.begin(), tasks.end(), [&](const PoolTask& t) { return t.segment == seg.index; });
      sr.peak_rss_bytes = r.peak_rss_bytes;
      if (!sr.reused) {
        sr.slot = r.slot;
        sr.worker_pid = r.stats.worker_pid;
        sr.started_s = r.start_s;
        sr.finished_s = r.end_s;
      }
      if (!sr.reused) {
        sum.worker_cpu_s += r.stats.cpu_seconds;
        sum.peak_worker_rss_bytes = std::max(sum.peak_worker_rss_bytes, r.peak_rss_bytes);
      }
      video_bytes += r.stats.bytes;
      sum.segments.push_back(sr);
    }
    sum.video_bitrate = sum.duration_s > 0 ? static_cast<double>(video_bytes) * 8 / sum.duration_s : 0;
    sum.wall_s = since(t0);
    sum.speed = sum.wall_s > 0 ? sum.duration_s / sum.wall_s : 0;
    sum.fps = sum.wall_s > 0 ? static_cast<double>(sum.frames) / sum.wall_s : 0;
    sum.parallel_efficiency = sum.encode_s > 0 ? sum.worker_cpu_s / (sum.encode_s * sum.cores) : 0;
    if (!o.timeline_svg.empty()) write_file_atomically(o.timeline_svg, timeline_svg(sum));
    jp.frames_done = sum.frames;
    emit("done");
    return sum;
  } catch (const Error& e) {
    throw failed(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw failed(ErrorCode::kInternal, "out of memory");
  } catch (const std::exception& e) {
    throw failed(ErrorCode::kInternal, e.what());
  }
}

}  // namespace pvt
