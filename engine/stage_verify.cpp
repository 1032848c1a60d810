#include "stage_verify.hpp"

#include <algorithm>
#include <filesystem>

#include "atomic_file.hpp"

namespace pvt {
namespace fs = std::filesystem;

namespace {

OutputExpectation expectation(const JobContext& job, const ProbeResult& probe, const Assembly& assembled) {
  const MediaInfo& info = probe.info;
  OutputExpectation expect;
  expect.frames = job.summary.frames;
  expect.duration_s = job.summary.duration_s;
  expect.tolerance_s = info.seconds(info.frames.back().duration);
  for (const auto& f : info.frames)
    expect.tolerance_s = std::max(expect.tolerance_s, info.seconds(f.duration));
  expect.audio = !assembled.input.audio.empty();
  expect.fidelity = expected_fidelity(info, probe.output);
  return expect;
}

// An audio track that yielded no packet at all (damaged) is not a reason to fail the video: say so.
void forgive_unreadable_audio(JobContext& job, const Assembly& assembled, OutputExpectation& expect) {
  const auto& audio = assembled.input.audio;
  for (std::size_t i = audio.size(); i-- > 0;) {
    if (assembled.result.audio_packets_per_track[i] > 0) continue;
    if (job.warn)
      job.warn(job.options.input + ": audio stream " + std::to_string(audio[i].input_stream) +
               " could not be read (damaged?); the output has no such track");
    if (expect.fidelity.audio)
      expect.fidelity.audio->erase(expect.fidelity.audio->begin() + static_cast<std::ptrdiff_t>(i));
  }
  if (!audio.empty() && assembled.result.audio_packets == 0) {
    expect.audio = false;
    expect.fidelity.audio.reset();
    expect.fidelity.av_start_offset_s.reset();
    job.summary.audio = "none (unreadable)";
  }
}

// Every rung's media playlist as a single output of its own size: all frames, the duration, the audio
// (or, where the audio is a rendition of its own, each audio rendition once: its track, where it starts).
// Subtitles are renditions of the master playlist, written once, so a rung's playlist has none. Then the
// DASH manifest, read as a DASH player reads it.
void verify_ladder(JobContext& job, const Assembly& assembled, OutputExpectation expect) {
  expect.fidelity.subtitles.reset();
  const auto& result = assembled.result;
  const OutputExpectation with_audio = expect;
  if (!result.audio_playlists.empty()) {
    expect.audio = false;
    expect.fidelity.audio.reset();
    expect.fidelity.av_start_offset_s.reset();
  }
  double video_start_s = 0;
  for (std::size_t r = 0; r < result.rung_playlists.size(); ++r) {
    const HlsVariant& v = result.variants[r];
    expect.fidelity.displayed_width = v.width;
    expect.fidelity.displayed_height = v.height;
    TranscodeSummary::Rendition rendition;
    rendition.playlist = result.rung_playlists[r];
    rendition.width = v.width;
    rendition.height = v.height;
    rendition.bandwidth = v.bandwidth;
    rendition.average_bandwidth = v.average_bandwidth;
    rendition.codecs = v.codecs;
    rendition.verified = verify_output(result.rung_playlists[r], expect);
    if (r == 0) {
      job.summary.verified = rendition.verified;
      video_start_s = rendition.verified.video_start_s;
    }
    job.summary.renditions.push_back(std::move(rendition));
  }
  const auto& tracks = with_audio.fidelity.audio;
  for (std::size_t k = 0; k < result.audio_playlists.size(); ++k) {
    const TrackExpectation track = tracks && k < tracks->size() ? (*tracks)[k] : TrackExpectation{};
    verify_audio_rendition(result.audio_playlists[k], track, video_start_s,
                           with_audio.fidelity.av_start_offset_s, with_audio.tolerance_s);
  }
  if (!result.dash_manifest.empty())
    verify_dash_manifest(result.dash_manifest, expect.frames, static_cast<int>(result.rung_playlists.size()),
                         static_cast<int>(result.audio_playlists.size()));
}

}  // namespace

void verify_stage(JobContext& job, const ProbeResult& probe, const Assembly& assembled) {
  job.emit("verify");
  OutputExpectation expect = expectation(job, probe, assembled);
  forgive_unreadable_audio(job, assembled, expect);
  if (assembled.result.rung_playlists.empty()) {
    job.summary.verified = verify_output(assembled.path, expect);
    return;
  }
  verify_ladder(job, assembled, expect);
}

void publish_stage(JobContext& job, const OutputTarget& target, const Assembly& assembled) {
  TranscodeSummary& sum = job.summary;
  if (target.format != "hls") {
    rename_or_throw(assembled.path, target.final_path);
    sum.files.push_back(target.final_path);
  } else {
    std::error_code ec;
    fs::create_directories(target.dir, ec);
    for (const auto& f : assembled.result.files) {
      const fs::path dest = target.dir / fs::path(f).filename();
      rename_or_throw(f, dest.string());
      sum.files.push_back(dest.string());
    }
    remove_stale_segments(target, sum.files);
    for (std::size_t r = 0; r < sum.renditions.size(); ++r) {
      auto& rendition = sum.renditions[r];
      rendition.playlist = (target.dir / fs::path(rendition.playlist).filename()).string();
      OutputTarget rung = target;
      rung.hls.segment_prefix = target.hls.stem + "_r" + std::to_string(r) + "_";
      remove_stale_segments(rung, sum.files);
    }
    for (std::size_t k = 0; k < assembled.result.audio_playlists.size(); ++k) {
      OutputTarget audio = target;
      audio.hls.segment_prefix = target.hls.stem + "_a" + std::to_string(k) + "_";
      remove_stale_segments(audio, sum.files);
    }
  }
  sum.assemble_s = seconds_since(assembled.started);
  job.dir.keep(job.options.keep_work_dir);  // done: the state has served its purpose
  if (job.options.keep_work_dir) {
    job.state.status = "complete";
    job.dir.save(job.state);
  }
}

}  // namespace pvt
