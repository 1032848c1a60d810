#include "side_tracks.hpp"

namespace pvt {

SideTracksJob::SideTracksJob(const MediaInfo& info, const OutputPlan& plan, std::int64_t bitrate,
                             std::string dir)
    : thread_([this, &info, &plan, bitrate, dir] { prepare(info, plan, bitrate, dir); }) {}

SideTracksJob::~SideTracksJob() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

SideTracks SideTracksJob::join() {
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
  return std::move(tracks_);
}

void SideTracksJob::prepare(const MediaInfo& info, const OutputPlan& plan, std::int64_t bitrate,
                            const std::string& dir) {
  try {
    for (const auto& s : plan.streams) {
      if (s.action == "drop") continue;
      if (s.type == "audio")
        tracks_.audio.push_back(
            prepare_audio(info, s.input, s.action == "convert", s.output_codec, bitrate, dir, &stop_));
      if (s.type == "subtitle")
        tracks_.subtitles.push_back(prepare_subtitles(info.path, s.input, s.output_codec, &stop_));
    }
  } catch (...) {
    error_ = std::current_exception();
  }
}

std::string audio_summary(const std::vector<AudioTrack>& tracks) {
  std::string s;
  for (const auto& t : tracks) {
    if (!t.present) continue;
    s += (s.empty() ? "" : ", ") + t.codec + (t.encoded ? " (encoded)" : " (copied)");
  }
  return s.empty() ? "none" : s;
}

}  // namespace pvt
