// The last gate before a job reports success: demux the finished output (an MP4 or Matroska file, or an
// HLS playlist through FFmpeg's HLS demuxer, which also proves the playlist is readable) and check it
// against what the input promised: frame count, duration, timestamp order, and fidelity — the displayed
// size, bit depth, colour description, HDR metadata, every audio and subtitle track with its language,
// chapters and title, and where audio starts against video. A loss nobody chose fails the job (exit 6).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pvt {

struct TrackExpectation {
  std::string codec;
  std::string language;  // empty: untagged
};

// What the output must show; fields left at their defaults are not checked.
struct FidelityExpectation {
  int displayed_width = 0;
  int displayed_height = 0;
  int bit_depth = 0;
  int color_primaries = 2;  // 2 (unspecified): not checked
  int color_trc = 2;
  int colorspace = 2;
  bool full_range = false;    // the input is full range and so must the output be
  bool hdr_metadata = false;  // mastering display or light level in the stream or the container
  std::optional<std::vector<TrackExpectation>> audio;      // in output order
  std::optional<std::vector<TrackExpectation>> subtitles;  // in output order
  int chapters = -1;                                       // -1: not checked
  std::string title;                                       // empty: not checked
  std::optional<double> av_start_offset_s;                 // audio start minus video start, within one frame
};

struct OutputExpectation {
  std::int64_t frames = 0;
  double duration_s = 0;   // video duration of the input
  double tolerance_s = 0;  // one frame
  bool audio = false;
  FidelityExpectation fidelity;
};

struct TrackReport {
  std::string codec;
  std::string language;
};

struct OutputReport {
  std::int64_t video_frames = 0;
  double video_duration_s = 0;
  bool dts_monotonic = true;
  bool has_audio = false;
  std::int64_t audio_packets = 0;
  double audio_duration_s = 0;
  double av_start_offset_s = 0;  // audio start minus video start
  double video_start_s = 0;
  // Fidelity, from the container and the first decoded frame.
  int width = 0, height = 0;
  int displayed_width = 0, displayed_height = 0;
  int rotation = 0;
  std::string pix_fmt;
  int bit_depth = 0;
  int color_primaries = 2, color_trc = 2, colorspace = 2, color_range = 0;
  bool hdr_metadata = false;
  std::vector<TrackReport> audio_tracks;
  std::vector<TrackReport> subtitle_tracks;
  int chapters = 0;
  std::string title;
};

// Reads the output; never throws for a mismatch. with_picture: also decode its first frame (bit depth,
// colour tags, HDR SEI).
OutputReport inspect_output(const std::string& path, bool with_picture = false);

// inspect_output, then throws Error(kVerify) naming every check that failed.
OutputReport verify_output(const std::string& path, const OutputExpectation& expect);

// A streaming set's audio rendition (its own playlist, no video): it must hold audio of the expected codec
// and language, and start where the input's audio starts against the video (`video_start_s`: where the
// rungs' video starts). Throws Error(kVerify).
void verify_audio_rendition(const std::string& playlist, const TrackExpectation& track, double video_start_s,
                            std::optional<double> av_start_offset_s, double tolerance_s);

// A DASH manifest, read by FFmpeg's own DASH demuxer: every video Representation has all `frames`, and
// `audio` audio Representations have packets. Throws Error(kVerify).
void verify_dash_manifest(const std::string& mpd, std::int64_t frames, int video, int audio);

}  // namespace pvt
