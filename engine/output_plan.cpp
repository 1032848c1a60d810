#include "output_plan.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "error.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
#include <libavutil/pixfmt.h>
}

namespace pvt {

namespace {

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool in_list(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// Audio codecs each container carries as they are (what players of that container decode).
bool container_carries_audio(const std::string& format, const std::string& codec) {
  if (format == "mkv") return true;
  if (format == "webm") return codec == "opus" || codec == "vorbis";
  if (format == "mp4") return in_list({"aac", "mp3", "ac3", "eac3", "alac", "opus"}, codec);
  return in_list({"aac", "mp3", "ac3", "eac3"}, codec);  // MPEG-TS HLS
}

// The text subtitle codec each container takes, given the input's.
std::string text_subtitle_codec(const std::string& format, const std::string& codec) {
  if (format == "mp4") return "mov_text";
  if (format == "hls" || format == "webm") return "webvtt";
  // Matroska: SRT, ASS/SSA and WebVTT as they are; mov_text (MP4's) becomes SRT.
  if (codec == "subrip" || codec == "ass" || codec == "ssa" || codec == "webvtt") return codec;
  return "subrip";
}

const char* transfer_name(int trc) {
  const char* n = av_color_transfer_name(static_cast<AVColorTransferCharacteristic>(trc));
  return n ? n : "unknown";
}

// Planar YUV at the chosen depth with the input's chroma subsampling (4:2:0 where forced).
std::string yuv_format(int w_shift, int h_shift, int depth) {
  std::string chroma = w_shift == 0 && h_shift == 0 ? "444" : (h_shift == 0 ? "422" : "420");
  std::string f = "yuv" + chroma + "p";
  if (depth > 8) f += std::to_string(depth) + "le";
  return f;
}

std::string tonemap_filter(const std::string& algorithm, const std::string& pix_fmt) {
  // Linear light, BT.709 primaries, the tone curve, then BT.709 transfer and matrix in limited range.
  return "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=" + algorithm +
         ":desat=0,zscale=t=bt709:m=bt709:r=tv,format=" + pix_fmt;
}

std::string rotate_filter(int rotation) {
  if (rotation == 90) return "transpose=clock";
  if (rotation == 270) return "transpose=cclock";
  if (rotation == 180) return "hflip,vflip";
  return "";
}

void plan_video(const MediaInfo& info, const OutputChoices& c, OutputPlan& p) {
  const VideoDisplay& d = info.display;
  VideoChoice& v = p.video;
  const bool hevc = c.codec == "hevc";
  // AV1 (Main) and VP9 (profile 2) carry 10-bit 4:2:0 as players decode it, so they keep the input's depth
  // up to 10 like hevc does (up to 12).
  const bool keeps_depth = hevc || c.codec == "av1" || c.codec == "vp9";
  if (c.bit_depth != 0 && c.bit_depth != 8 && c.bit_depth != 10)
    throw Error(ErrorCode::kUsage, "--bit-depth must be auto, 8 or 10");
  const int max_depth = hevc ? 12 : 10;
  int depth = c.bit_depth != 0 ? c.bit_depth : (keeps_depth ? std::min(info.bit_depth, max_depth) : 8);
  depth = depth > 10 ? 12 : (depth > 8 ? 10 : 8);
  if (info.bit_depth > depth && c.bit_depth == 0 && !d.hdr())
    p.warnings.push_back("the input is " + std::to_string(info.bit_depth) + "-bit; " + c.codec +
                         " output is " + std::to_string(depth) + "-bit by default (" +
                         (keeps_depth ? "the deepest pvt encodes it in" : "what H.264 players decode") +
                         (keeps_depth ? ")" : "; --bit-depth 10 or --codec hevc keeps the depth)"));
  int w_shift = d.chroma_w_shift, h_shift = d.chroma_h_shift;
  if (p.format == "hls" && (w_shift != 1 || h_shift != 1)) {
    p.warnings.push_back("chroma " + yuv_format(w_shift, h_shift, 8).substr(3, 3) +
                         " becomes 4:2:0 for HLS (what streaming players decode); MP4/MKV keep it");
    w_shift = h_shift = 1;
  }
  if (w_shift > 1 || h_shift > 1) w_shift = h_shift = 1;  // 4:1:1 and rarer: 4:2:0
  v.bit_depth = depth;
  v.pix_fmt = yuv_format(w_shift, h_shift, depth);

  v.color_primaries = d.color_primaries;
  v.color_trc = d.color_trc;
  v.colorspace = d.colorspace;
  v.color_range = d.color_range;
  std::vector<std::string> filters;
  if (d.hdr() && depth == 8) {
    if (c.tonemap == "off")
      throw Error(ErrorCode::kUsage, std::string("the input is HDR (") + transfer_name(d.color_trc) +
                                         ") and 8-bit output cannot carry it: use --codec hevc or "
                                         "--bit-depth 10, or allow a tone-map (--tonemap hable)");
    v.tonemap = true;
    filters.push_back(tonemap_filter(c.tonemap, v.pix_fmt));
    v.color_primaries = AVCOL_PRI_BT709;
    v.color_trc = AVCOL_TRC_BT709;
    v.colorspace = AVCOL_SPC_BT709;
    v.color_range = AVCOL_RANGE_MPEG;
    p.warnings.push_back(std::string("HDR (") + transfer_name(d.color_trc) + ") into 8-bit " + c.codec +
                         ": tone-mapped to SDR BT.709 (" + c.tonemap +
                         "); --codec hevc or --bit-depth 10 keeps HDR");
  } else if (d.hdr()) {
    v.keep_hdr_metadata = d.has_mastering || d.has_light_level;
    v.master_display = d.master_display;
    if (d.has_light_level) v.max_cll = std::to_string(d.max_cll) + "," + std::to_string(d.max_fall);
  }
  if (d.dolby_vision)
    p.warnings.push_back("Dolby Vision metadata is dropped (pvt encodes the base layer" +
                         std::string(v.keep_hdr_metadata ? " with its HDR10 metadata)" : ")"));

  v.rotation = d.rotation;
  if (d.rotation != 0) {
    // MP4 keeps the display matrix; FFmpeg 5.1's Matroska muxer writes none and MPEG-TS has no place for
    // one, so there the frames themselves are turned before encoding.
    if (p.format == "mp4") {
      v.keep_matrix = true;
    } else {
      v.rotate_pixels = true;
      filters.push_back(rotate_filter(d.rotation));
      const char* turn = d.rotation == 90    ? "90 degrees clockwise"
                         : d.rotation == 270 ? "90 degrees counter-clockwise"
                                             : "180 degrees";
      const std::string where = p.format == "hls" ? "MPEG-TS" : "FFmpeg 5.1's Matroska muxer";
      p.notes.push_back(std::string("the picture is turned ") + turn +
                        " before encoding, as the input's display matrix says (" + where +
                        " writes no display matrix)");
    }
  }
  for (const auto& f : filters) v.filter += (v.filter.empty() ? "" : ",") + f;
  v.displayed_width = d.displayed_width(info.width & ~1, info.height & ~1);
  v.displayed_height = d.displayed_height(info.width & ~1, info.height & ~1);
}

// Which of the input's audio and subtitle streams the user wants, before asking what the container takes.
bool selected(const StreamSummary& s, const OutputChoices& c, bool first_of_type, std::string& why_not) {
  if (!c.streams.empty()) {
    const bool yes = std::find(c.streams.begin(), c.streams.end(), s.index) != c.streams.end();
    if (!yes) why_not = "not in --streams";
    return yes;
  }
  if (s.type == "audio") {
    if (c.audio == AudioMode::kNone) return why_not = "--audio none", false;
    if (c.audio_tracks == "all") return true;
    if (c.audio_tracks == "first") return first_of_type || (why_not = "--audio-tracks first", false);
    if (in_list(split_list(c.audio_tracks), s.language)) return true;
    why_not = "language not in --audio-tracks";
    return false;
  }
  if (s.type == "subtitle") {
    if (c.subtitles == "all") return true;
    if (c.subtitles == "none") return why_not = "--subtitles none", false;
    if (in_list(split_list(c.subtitles), s.language)) return true;
    why_not = "language not in --subtitles";
    return false;
  }
  return true;
}

void plan_audio(const StreamSummary& s, const OutputChoices& c, const std::string& format, StreamChoice& ch) {
  // AV1/VP9 HLS has fMP4 segments whose init segment is written before any packet, and the MP4 muxer needs
  // an AC-3/E-AC-3 packet to describe that audio: it is encoded to AAC there.
  const bool fmp4_hls = format == "hls" && (c.codec == "av1" || c.codec == "vp9");
  const bool carried =
      container_carries_audio(format, s.codec) && !(fmp4_hls && (s.codec == "ac3" || s.codec == "eac3"));
  const AudioMode mode = c.audio;
  if (mode == AudioMode::kCopy && !carried)
    throw Error(ErrorCode::kUsage, "--audio copy: stream " + std::to_string(s.index) + " is " + s.codec +
                                       ", which " + format + " output cannot carry (use --audio auto)");
  if (mode == AudioMode::kAac || !carried) {
    const std::string target = format == "webm" ? "opus" : "aac";
    ch.action = s.codec == target && mode != AudioMode::kAac ? "copy" : "convert";
    ch.output_codec = target;
    ch.reason = mode == AudioMode::kAac ? "--audio aac" : s.codec + " is not carried by " + format;
    if (target == "opus" && mode == AudioMode::kAac)
      throw Error(ErrorCode::kUsage,
                  "--audio aac: WebM carries Opus or Vorbis audio, not AAC (use --audio auto)");
    return;
  }
  ch.action = "copy";
  ch.output_codec = s.codec;
  ch.reason = format + " carries " + s.codec;
}

void plan_subtitle(const StreamSummary& s, const std::string& format, StreamChoice& ch, OutputPlan& p) {
  if (s.bitmap_subtitle) {
    if (format == "mkv") {
      ch.action = "copy";
      ch.output_codec = s.codec;
      ch.reason = "bitmap subtitles go into Matroska as they are";
      return;
    }
    ch.action = "drop";
    ch.reason = "bitmap subtitles (" + s.codec + ") fit only Matroska: use .mkv to keep them";
    p.warnings.push_back("stream " + std::to_string(s.index) + ": " + ch.reason);
    return;
  }
  if (!s.text_subtitle) {
    ch.action = "drop";
    ch.reason = "subtitle codec " + s.codec + " is neither text nor a known bitmap kind";
    p.warnings.push_back("stream " + std::to_string(s.index) + ": " + ch.reason);
    return;
  }
  ch.output_codec = text_subtitle_codec(format, s.codec);
  ch.action = ch.output_codec == s.codec ? "copy" : "convert";
  ch.reason = format == "hls" ? "a WebVTT rendition in the playlist"
                              : format + " takes " + ch.output_codec + " text subtitles";
  if ((s.codec == "ass" || s.codec == "ssa") && ch.action == "convert")
    p.notes.push_back("stream " + std::to_string(s.index) + ": ASS styling becomes plain " + ch.output_codec +
                      " text (.mkv keeps it)");
}

}  // namespace

int OutputPlan::kept(const std::string& type) const {
  return static_cast<int>(std::count_if(streams.begin(), streams.end(), [&](const StreamChoice& s) {
    return s.type == type && s.action != "drop";
  }));
}

FidelityExpectation expected_fidelity(const MediaInfo& info, const OutputPlan& p) {
  FidelityExpectation f;
  const VideoChoice& v = p.video;
  f.displayed_width = v.displayed_width;
  f.displayed_height = v.displayed_height;
  f.bit_depth = v.bit_depth;
  f.color_primaries = v.color_primaries;
  f.color_trc = v.color_trc;
  f.colorspace = v.colorspace;
  f.full_range = v.color_range == AVCOL_RANGE_JPEG;
  f.hdr_metadata = v.keep_hdr_metadata;
  std::vector<TrackExpectation> audio, subtitles;
  const StreamSummary* first_audio = nullptr;
  for (const auto& s : p.streams) {
    if (s.action == "drop") continue;
    if (s.type == "audio") {
      audio.push_back({s.output_codec, s.language});
      if (!first_audio) first_audio = &info.streams[s.input];
    }
    if (s.type == "subtitle") subtitles.push_back({s.output_codec, s.language});
  }
  f.audio = audio;
  f.subtitles = subtitles;
  if (p.chapters) f.chapters = info.chapters;
  if (p.global_metadata) f.title = info.title;
  if (first_audio && !info.frames.empty()) {
    const double video_start = info.seconds(info.start_pts());
    f.av_start_offset_s = static_cast<double>(first_audio->start_us) / 1e6 - video_start;
  }
  return f;
}

std::string format_for_output_name(const std::string& path) {
  if (ends_with_ci(path, ".mp4") || ends_with_ci(path, ".m4v") || ends_with_ci(path, ".mov")) return "mp4";
  if (ends_with_ci(path, ".mkv")) return "mkv";
  if (ends_with_ci(path, ".webm")) return "webm";
  return "hls";
}

OutputPlan plan_output(const MediaInfo& info, const OutputChoices& c) {
  OutputPlan p;
  p.format = c.format;
  if (p.format == "webm" && c.codec != "vp9" && c.codec != "av1" && c.codec != "vp8")
    throw Error(ErrorCode::kUsage, "WebM carries VP8, VP9 or AV1 video only, not " + c.codec +
                                       ": write .mkv (Matroska takes " + c.codec + ")");
  for (int idx : c.streams)
    if (idx < 0 || idx >= static_cast<int>(info.streams.size()))
      throw Error(ErrorCode::kUsage, "--streams: the input has no stream " + std::to_string(idx));
  plan_video(info, c, p);

  bool first_audio = true;
  for (const auto& s : info.streams) {
    StreamChoice ch;
    ch.input = s.index;
    ch.type = s.type;
    ch.codec = s.codec;
    ch.language = s.language;
    ch.title = s.title;
    if (s.index == info.video_stream) {
      ch.action = "encode";
      ch.output_codec = c.codec;
      ch.reason = "the video";
      p.streams.push_back(ch);
      continue;
    }
    std::string why_not;
    const bool first = s.type == "audio" && first_audio;
    if (s.type == "audio") first_audio = false;
    if (!selected(s, c, first, why_not)) {
      ch.action = "drop";
      ch.reason = why_not;
    } else if (s.type == "audio") {
      plan_audio(s, c, p.format, ch);
      if (ch.action == "drop") p.warnings.push_back("stream " + std::to_string(s.index) + ": " + ch.reason);
    } else if (s.type == "subtitle") {
      plan_subtitle(s, p.format, ch, p);
    } else if (s.type == "attachment" && p.format == "mkv") {
      ch.action = "copy";
      ch.output_codec = s.codec;
      ch.reason = "Matroska attachment";
    } else {
      ch.action = "drop";
      ch.reason = s.cover_art              ? "cover art is not carried"
                  : s.type == "attachment" ? "attachments (fonts) fit only Matroska: use .mkv to keep them"
                  : s.type == "video"      ? "pvt transcodes one video stream"
                                           : s.type + " streams are not carried";
      p.warnings.push_back("stream " + std::to_string(s.index) + " (" + s.type + " " + s.codec +
                           "): " + ch.reason);
    }
    p.streams.push_back(ch);
  }
  if (p.format == "hls" && p.kept("audio") > 1 && !c.audio_renditions)
    p.warnings.push_back(std::to_string(p.kept("audio")) +
                         " audio tracks go into every HLS segment with their languages, but most players "
                         "(hls.js, Safari) play the first one only; MP4/MKV keep them selectable");
  p.chapters = info.chapters > 0 && p.format != "hls";
  if (info.chapters > 0 && p.format == "hls")
    p.warnings.push_back(std::to_string(info.chapters) +
                         " chapters are dropped (HLS has no chapters; MP4/MKV keep them)");
  p.global_metadata = p.format != "hls";
  if (!info.title.empty() && p.format == "hls")
    p.warnings.push_back("the title is dropped (HLS has no place for it; MP4/MKV keep it)");
  return p;
}

}  // namespace pvt
