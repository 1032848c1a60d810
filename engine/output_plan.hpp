// What the output keeps of the input, decided once before any work starts: the container, how the video
// is shown (rotation, bit depth, HDR or a tone-map to SDR), and for every other stream whether it is
// copied, converted or dropped, and why. `pvt analyze` prints it; transcode follows it; verify checks the
// output against it, so a loss nobody decided on fails the job.
#pragma once

#include <string>
#include <vector>

#include "audio_track.hpp"
#include "media_index.hpp"
#include "verify_output.hpp"

namespace pvt {

// The user's choices that shape the plan (a subset of TranscodeOptions).
struct OutputChoices {
  std::string format = "hls";  // hls, mp4, mkv, webm (resolved from the output name)
  std::string codec = "h264";
  int bit_depth = 0;              // 0: auto (hevc keeps the input's, h264 is 8-bit); 8 or 10
  std::string tonemap = "hable";  // libavfilter tonemap algorithm for HDR into 8 bits; "off": refuse instead
  AudioMode audio = AudioMode::kAuto;
  std::string audio_tracks = "all";  // all, first, or languages "eng,fra"
  std::string subtitles = "all";     // all, none, or languages
  std::vector<int> streams;          // non-empty: exactly these input streams beside the video (--streams)
  // A streaming set with fMP4 segments (a ladder, DASH): each audio track is a rendition of its own, which
  // players offer as a choice, not a track inside every segment.
  bool audio_renditions = false;
};

struct StreamChoice {
  int input = -1;            // input stream index
  std::string type;          // audio, subtitle, attachment, video (the transcoded one), data
  std::string codec;         // the input's
  std::string action;        // "encode" (the video), "copy", "convert", "drop"
  std::string output_codec;  // FFmpeg codec name in the output (copy: the input's)
  std::string reason;        // why, in a few words
  std::string language;
  std::string title;
};

struct VideoChoice {
  std::string pix_fmt = "yuv420p";  // what the CPU encoder takes
  int bit_depth = 8;
  int rotation = 0;                // clockwise degrees of the input's display matrix
  bool rotate_pixels = false;      // the frames are turned before encoding (containers without a matrix)
  bool keep_matrix = false;        // the output carries the input's display matrix (MP4)
  bool tonemap = false;            // HDR tone-mapped to SDR BT.709
  std::string filter;              // libavfilter graph the workers run before encoding; empty: none
  bool keep_hdr_metadata = false;  // mastering display / light level into the stream and the container
  std::string master_display;      // x265/x264 syntax, empty: none
  std::string max_cll;             // "MaxCLL,MaxFALL", empty: none
  // The output's picture as a player shows it, and its colour description.
  int displayed_width = 0;
  int displayed_height = 0;
  int color_primaries = 2;
  int color_trc = 2;
  int colorspace = 2;
  int color_range = 0;
};

struct OutputPlan {
  std::string format;
  VideoChoice video;
  std::vector<StreamChoice> streams;  // every input stream, in input order
  bool chapters = false;              // the input's chapters are written
  bool global_metadata = false;       // title, creation time, ... are written
  std::vector<std::string> warnings;  // one line each: a conversion or a loss the choices imply
  std::vector<std::string> notes;     // what happens without loss worth a warning (pixels turned, ...)

  int kept(const std::string& type) const;  // streams of this type in the output
};

// Throws Error(kUsage) when the choices cannot be met (a codec the container refuses, --tonemap off for
// an HDR input into 8 bits, --audio copy of a codec the container cannot carry, --streams naming nothing).
OutputPlan plan_output(const MediaInfo& info, const OutputChoices& choices);

// What verify must find in the output when the plan was followed: displayed size, depth, colour, HDR
// metadata, tracks with their languages, chapters, title, and the input's audio-to-video start offset.
FidelityExpectation expected_fidelity(const MediaInfo& info, const OutputPlan& plan);

// The output formats by name: .mp4/.m4v/.mov mp4, .mkv mkv, .webm webm, else hls.
std::string format_for_output_name(const std::string& path);

}  // namespace pvt
