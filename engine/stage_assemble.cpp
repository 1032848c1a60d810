#include "stage_assemble.hpp"

#include <algorithm>
#include <filesystem>

extern "C" {
#include <libavutil/avutil.h>
#include <libavutil/mathematics.h>
}

namespace pvt {
namespace fs = std::filesystem;

namespace {

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

// A ladder's encoded files: rung by rung, segment by segment.
std::vector<std::vector<std::string>> rung_files(const JobContext& job, std::size_t segments,
                                                 std::size_t rungs) {
  std::vector<std::vector<std::string>> files(rungs);
  for (std::size_t r = 0; r < rungs; ++r)
    for (std::size_t s = 0; s < segments; ++s)
      files[r].push_back(job.rung_path(static_cast<int>(s), r).string());
  return files;
}

const char* muxer_for(const std::string& format) {
  return format == "mp4" ? "mp4" : format == "webm" ? "webm" : "matroska";
}

}  // namespace

Assembly assemble_stage(JobContext& job, const ProbeResult& probe, const Plan& plan,
                        const ScheduleResult& encoded, SideTracks side) {
  TranscodeSummary& sum = job.summary;
  sum.audio = audio_summary(side.audio);
  sum.audio_tracks = static_cast<int>(side.audio.size());
  sum.subtitle_tracks = static_cast<int>(side.subtitles.size());
  sum.fidelity_warnings = probe.output.warnings;

  job.emit("assemble");
  Assembly a;
  a.started = JobClock::now();
  a.input = assembly_input(probe.info, probe.output, std::move(side));
  for (const auto& seg : plan.segments) {
    a.input.segments.push_back({encoded.descriptors[seg.index].output, seg.start_pts, seg.end_pts});
    // Playlist segments: each work segment's start, then the boundaries grouped inside it.
    a.input.piece_starts.push_back(seg.start_pts);
    for (int f : seg.piece_starts) a.input.piece_starts.push_back(probe.info.frames.at(f).pts);
  }
  const OutputTarget& target = probe.target;
  if (target.format != "hls") {
    a.path = (job.dir.dir() / ("output." + target.format + ".part")).string();
    a.result = assemble_file(a.input, muxer_for(target.format), a.path);
  } else {
    const fs::path staging = job.dir.dir() / "hls";
    fs::create_directories(staging);
    // A ladder, or DASH (a set of one rung without one): the streaming set's assembly.
    const bool set = !probe.ladder.empty() || !target.hls.dash_manifest.empty();
    const std::size_t rungs = std::max<std::size_t>(1, probe.ladder.size());
    a.result = set ? assemble_hls_ladder(a.input, rung_files(job, plan.segments.size(), rungs),
                                         staging.string(), target.hls)
                   : assemble_hls(a.input, staging.string(), target.hls);
    a.path = (staging / fs::path(target.final_path).filename()).string();
  }
  sum.dts_repairs = a.result.dts_repairs;
  return a;
}

}  // namespace pvt
