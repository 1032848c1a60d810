// What the output carries beside the video, made ready on its own thread while the workers encode:
// every kept audio track (each encoded once, or copied) and subtitle track (copied or converted).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "audio_track.hpp"
#include "media_index.hpp"
#include "output_plan.hpp"
#include "subtitle_track.hpp"

namespace pvt {

struct SideTracks {
  std::vector<AudioTrack> audio;
  std::vector<SubtitleTrack> subtitles;
};

// Runs the preparation on its own thread from construction; join() rethrows its error. `info` and `plan`
// must outlive it.
class SideTracksJob {
 public:
  SideTracksJob(const MediaInfo& info, const OutputPlan& plan, std::int64_t bitrate, std::string dir);
  // A job that fails or is cancelled leaves through here: stop the encode rather than wait for it.
  ~SideTracksJob();
  SideTracksJob(const SideTracksJob&) = delete;
  SideTracksJob& operator=(const SideTracksJob&) = delete;
  SideTracks join();

 private:
  void prepare(const MediaInfo& info, const OutputPlan& plan, std::int64_t bitrate, const std::string& dir);

  std::atomic<bool> stop_{false};
  SideTracks tracks_;
  std::exception_ptr error_;
  std::thread thread_;
};

// "aac (encoded)", "aac (copied)", "none"; tracks joined by ", ".
std::string audio_summary(const std::vector<AudioTrack>& tracks);

}  // namespace pvt
