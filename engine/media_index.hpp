// Probe: what a file holds, learned by demuxing only (no decoding). The frame table it builds is the
// ground truth for frame-accurate cutting: frame i is the i-th video frame in presentation order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/rational.h>
}

struct AVFormatContext;  // libavformat's, declared here to keep avformat.h out of this header

namespace pvt {

struct FrameEntry {
  std::int64_t pts = 0;       // presentation timestamp, in the video stream's time base
  std::int64_t dts = 0;       // decode timestamp, or AV_NOPTS_VALUE when the container has none
  std::int64_t duration = 0;  // until the next frame's pts (the last frame: its packet's or nominal duration)
  std::int32_t size = 0;      // compressed bytes: the cheap complexity proxy for planning
  bool keyframe = false;
};

struct StreamSummary {
  int index = 0;
  std::string type;    // "video", "audio", "subtitle", "data", "attachment"
  std::string codec;   // FFmpeg codec name
  std::string detail;  // "640x360 yuv420p" / "44100 Hz stereo"
  // What the output must keep of it (stream_properties.cpp): tags, flags, and what kind of subtitle it is.
  std::string language;          // ISO 639-2 tag as the container has it ("eng"), empty when untagged
  std::string title;             // the track's name
  int disposition = 0;           // AV_DISPOSITION_* flags (default, forced, ...)
  bool cover_art = false;        // a video stream holding one attached picture
  bool text_subtitle = false;    // SRT, ASS, mov_text, WebVTT: convertible between containers
  bool bitmap_subtitle = false;  // PGS, DVB, VobSub: pictures, Matroska only
  int channels = 0;              // audio
  std::int64_t start_us = 0;     // first timestamp, microseconds (AV_TIME_BASE)
};

// How the picture is meant to be shown, beyond its coded size: the display matrix, sample aspect ratio,
// colour description and HDR static metadata. Kept (or converted on purpose) by transcode, checked by verify.
struct VideoDisplay {
  int rotation = 0;  // clockwise degrees the player turns the picture: 0, 90, 180 or 270
  bool has_display_matrix = false;
  bool flipped = false;  // the matrix also mirrors the picture
  AVRational sample_aspect_ratio{0, 1};
  int color_range = 0;      // AVColorRange
  int color_primaries = 2;  // AVColorPrimaries (2: unspecified)
  int color_trc = 2;        // AVColorTransferCharacteristic
  int colorspace = 2;       // AVColorSpace
  int chroma_location = 0;  // AVChromaLocation
  int chroma_w_shift = 1;   // log2 of the chroma subsampling (4:2:0: 1 and 1; 4:2:2: 1 and 0)
  int chroma_h_shift = 1;
  bool has_mastering = false;  // HDR10 mastering display (container or SEI)
  // Mastering display as x265/x264 take it: G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min), chromaticities in
  // 1/50000, luminance in 1/10000 cd/m2.
  std::string master_display;
  bool has_light_level = false;
  int max_cll = 0;
  int max_fall = 0;
  bool dolby_vision = false;
  bool hdr() const { return color_trc == 16 /*SMPTE 2084 (PQ)*/ || color_trc == 18 /*ARIB B67 (HLG)*/; }
  // The size a player shows: coded size turned by the rotation and stretched by the sample aspect ratio.
  int displayed_width(int w, int h) const;
  int displayed_height(int w, int h) const;
};

struct MediaInfo {
  std::string path;
  std::string container;  // demuxer short name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  double container_duration_s = 0;
  std::vector<StreamSummary> streams;

  // The video stream that pvt transcodes.
  int video_stream = -1;
  std::string video_codec;
  std::string pix_fmt;
  int width = 0;
  int height = 0;
  int bit_depth = 8;
  AVRational time_base{1, 1};
  AVRational frame_rate{0, 1};  // average frame rate
  VideoDisplay display;
  bool variable_frame_rate = false;
  std::vector<FrameEntry> frames;  // presentation order
  std::vector<int> keyframes;      // indices into frames

  // The audio stream muxed into the output, -1 when there is none.
  int audio_stream = -1;
  std::string audio_codec;
  int audio_sample_rate = 0;
  int audio_channels = 0;
  std::int64_t audio_start_us = 0;  // first audio timestamp in microseconds (AV_TIME_BASE)

  int chapters = 0;
  std::string title;  // the file's title tag

  // Set when demuxing stopped early on damaged data: frames holds only what could be read.
  bool truncated = false;
  std::string truncation_reason;

  std::int64_t start_pts() const { return frames.empty() ? 0 : frames.front().pts; }
  std::int64_t end_pts() const { return frames.empty() ? 0 : frames.back().pts + frames.back().duration; }
  double seconds(std::int64_t ts) const { return static_cast<double>(ts) * time_base.num / time_base.den; }
  double video_duration_s() const { return seconds(end_pts() - start_pts()); }
  double nominal_frame_duration_s() const;
};

// Demuxes the whole file once. Throws Error(kInput) with a one-line reason for anything that is not a
// usable video: missing, a directory, not a media file, no video stream, absurd dimensions, no frames.
MediaInfo probe_media(const std::string& path);

// The checks of probe_media that need no demuxing (fast: for validating a request before starting a job).
void check_video_file(const std::string& path);

// Index of the last keyframe at or before frame `frame` (frames[0] counts as one when none precedes).
int keyframe_at_or_before(const MediaInfo& info, int frame);

// Raw elementary streams (.m2v, .m1v) carry decode timestamps from the parser but no presentation ones.
// Without them the index would number frames by decode timestamp while the decoder labels each frame with
// the timestamp of the packet that completed it (one frame later for MPEG-2, whose decoder holds a frame
// back), and the last frame would have none at all. Asking libavformat to generate the missing pts from
// the parser's reordering information (AVFMT_FLAG_GENPTS) gives both sides the same timestamps; packets
// that carry a pts are untouched. The probe and every FrameReader call this right after opening the file.
void generate_missing_pts(AVFormatContext* fmt);

// Index of the frame with this pts, or -1.
int frame_with_pts(const MediaInfo& info, std::int64_t pts);

}  // namespace pvt
