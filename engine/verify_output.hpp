// The last gate before a job reports success: demux the finished output (an MP4, or an HLS playlist
// through FFmpeg's HLS demuxer, which also proves the playlist is readable) and check frame count,
// duration, timestamp order and audio against what the input promised.
#pragma once

#include <cstdint>
#include <string>

namespace pvt {

struct OutputExpectation {
  std::int64_t frames = 0;
  double duration_s = 0;   // video duration of the input
  double tolerance_s = 0;  // one frame
  bool audio = false;
};

struct OutputReport {
  std::int64_t video_frames = 0;
  double video_duration_s = 0;
  bool dts_monotonic = true;
  bool has_audio = false;
  std::int64_t audio_packets = 0;
  double audio_duration_s = 0;
  double av_start_offset_s = 0;  // audio start minus video start
};

// Reads the output; never throws for a mismatch.
OutputReport inspect_output(const std::string& path);

// inspect_output, then throws Error(kVerify) naming the first check that failed.
OutputReport verify_output(const std::string& path, const OutputExpectation& expect);

}  // namespace pvt
