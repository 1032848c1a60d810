#include "verify_output.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "av_handles.hpp"
#include "error.hpp"
#include "frame_reader.hpp"
#include "stream_properties.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace pvt {

namespace {

std::string language_of(const AVStream* st) {
  const AVDictionaryEntry* e = av_dict_get(st->metadata, "language", nullptr, 0);
  return e && std::string(e->value) != "und" ? e->value : "";
}

void read_container_fidelity(AVFormatContext* fmt, int v, OutputReport& r) {
  const AVStream* vs = fmt->streams[v];
  r.width = vs->codecpar->width;
  r.height = vs->codecpar->height;
  const VideoDisplay d = read_video_display(vs);
  r.rotation = d.rotation;
  r.displayed_width = d.displayed_width(r.width, r.height);
  r.displayed_height = d.displayed_height(r.width, r.height);
  r.hdr_metadata = d.has_mastering || d.has_light_level;
  r.color_primaries = d.color_primaries;
  r.color_trc = d.color_trc;
  r.colorspace = d.colorspace;
  r.color_range = d.color_range;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVStream* st = fmt->streams[i];
    const TrackReport t{avcodec_get_name(st->codecpar->codec_id), language_of(st)};
    if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) r.audio_tracks.push_back(t);
    if (st->codecpar->codec_type == AVMEDIA_TYPE_SUBTITLE) r.subtitle_tracks.push_back(t);
  }
  r.chapters = static_cast<int>(fmt->nb_chapters);
  if (const AVDictionaryEntry* t = av_dict_get(fmt->metadata, "title", nullptr, 0)) r.title = t->value;
}

// The first decoded frame: what the encoder really wrote (bit depth, VUI colour, HDR SEI).
void read_picture_fidelity(const std::string& path, int v, OutputReport& r) {
  FrameReader reader(path, v, {});
  const AVFrame* f = reader.next();
  if (!f) return;
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(f->format));
  r.pix_fmt = d ? d->name : "";
  r.bit_depth = d ? d->comp[0].depth : 0;
  VideoDisplay sei;
  read_hdr_side_data(f, sei);
  if (sei.has_mastering || sei.has_light_level) r.hdr_metadata = true;
  if (r.color_primaries == AVCOL_PRI_UNSPECIFIED) r.color_primaries = f->color_primaries;
  if (r.color_trc == AVCOL_TRC_UNSPECIFIED) r.color_trc = f->color_trc;
  if (r.colorspace == AVCOL_SPC_UNSPECIFIED) r.colorspace = f->colorspace;
  if (r.color_range == AVCOL_RANGE_UNSPECIFIED || f->color_range == AVCOL_RANGE_JPEG)
    r.color_range = f->color_range;
  if (d && std::string(d->name).rfind("yuvj", 0) == 0) r.color_range = AVCOL_RANGE_JPEG;
}

std::string tracks_text(const std::vector<TrackReport>& t) {
  std::string s;
  for (const auto& x : t)
    s += (s.empty() ? "" : ", ") + x.codec + (x.language.empty() ? "" : " " + x.language);
  return s.empty() ? "none" : s;
}

std::string tracks_text(const std::vector<TrackExpectation>& t) {
  std::vector<TrackReport> r;
  for (const auto& x : t) r.push_back({x.codec, x.language});
  return tracks_text(r);
}

bool same_tracks(const std::vector<TrackReport>& got, const std::vector<TrackExpectation>& want) {
  if (got.size() != want.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i].language != want[i].language || (!want[i].codec.empty() && got[i].codec != want[i].codec))
      return false;
  return true;
}

const char* name_or(const char* n) {
  return n ? n : "unknown";
}

std::vector<std::string> playlist_lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(l);
  }
  return lines;
}

// The value of ATTR="..." (or ATTR=value) in an #EXT-X-MEDIA line.
std::string attribute(const std::string& line, const std::string& name) {
  const auto at = line.find(name + "=");
  if (at == std::string::npos) return "";
  auto v = at + name.size() + 1;
  if (v < line.size() && line[v] == '"') {
    const auto end = line.find('"', v + 1);
    return line.substr(v + 1, end == std::string::npos ? std::string::npos : end - v - 1);
  }
  const auto end = line.find(',', v);
  return line.substr(v, end == std::string::npos ? std::string::npos : end - v);
}

// The first media file a playlist lists (following a master playlist's first variant); with fMP4 segments
// the init segment (EXT-X-MAP), which holds the tracks (a fragment alone does not).
std::filesystem::path first_media_file(const std::filesystem::path& playlist, int depth = 0) {
  for (const auto& l : playlist_lines(playlist)) {
    if (l.rfind("#EXT-X-MAP:", 0) == 0) return playlist.parent_path() / attribute(l, "URI");
    if (l.empty() || l[0] == '#') continue;
    const auto p = playlist.parent_path() / l;
    if (p.extension() == ".m3u8" && depth == 0) return first_media_file(p, 1);
    return p;
  }
  return {};
}

std::int64_t count_packets(const std::string& path) {
  AVFormatContext* raw = nullptr;
  if (avformat_open_input(&raw, path.c_str(), nullptr, nullptr) < 0) return -1;
  av::InputFormat fmt(raw);
  std::int64_t n = 0;
  av::Packet pkt = av::make_packet();
  while (av_read_frame(fmt.get(), pkt.get()) >= 0) {
    ++n;
    av_packet_unref(pkt.get());
  }
  return n;
}

// FFmpeg's HLS demuxer drops the TS streams' languages and skips WebVTT renditions: audio tracks are read
// from the first media segment, subtitle tracks from the master playlist, each proven by its cues.
void read_hls_tracks(const std::string& path, OutputReport& r) {
  const std::filesystem::path playlist(path);
  const auto segment = first_media_file(playlist);
  if (!segment.empty()) {
    AVFormatContext* raw = nullptr;
    if (avformat_open_input(&raw, segment.c_str(), nullptr, nullptr) >= 0) {
      av::InputFormat fmt(raw);
      if (avformat_find_stream_info(fmt.get(), nullptr) >= 0) {
        r.audio_tracks.clear();
        for (unsigned i = 0; i < fmt->nb_streams; ++i)
          if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO)
            r.audio_tracks.push_back(
                {avcodec_get_name(fmt->streams[i]->codecpar->codec_id), language_of(fmt->streams[i])});
      }
    }
  }
  for (const auto& l : playlist_lines(playlist)) {
    if (l.rfind("#EXT-X-MEDIA:", 0) != 0 || attribute(l, "TYPE") != "SUBTITLES") continue;
    const auto vtt = first_media_file(playlist.parent_path() / attribute(l, "URI"), 1);
    if (vtt.empty() || count_packets(vtt.string()) <= 0) continue;  // an empty rendition counts as lost
    r.subtitle_tracks.push_back({"webvtt", attribute(l, "LANGUAGE")});
  }
}

}  // namespace

OutputReport inspect_output(const std::string& path, bool with_picture) {
  AVFormatContext* raw = nullptr;
  check_av(avformat_open_input(&raw, path.c_str(), nullptr, nullptr), ErrorCode::kVerify, path);
  av::InputFormat fmt(raw);
  check_av(avformat_find_stream_info(fmt.get(), nullptr), ErrorCode::kVerify, path);
  const int v = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  const int a = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (v < 0) throw Error(ErrorCode::kVerify, path + ": output has no video stream");
  OutputReport r;
  r.has_audio = a >= 0;
  read_container_fidelity(fmt.get(), v, r);
  const AVRational vtb = fmt->streams[v]->time_base;
  const AVRational atb = a >= 0 ? fmt->streams[a]->time_base : AVRational{1, 1};
  std::int64_t min_pts = INT64_MAX, max_pts = INT64_MIN, last_dts = INT64_MIN, last_dur = 0;
  std::int64_t amin = INT64_MAX, amax = INT64_MIN, adur = 0;
  av::Packet pkt = av::make_packet();
  while (av_read_frame(fmt.get(), pkt.get()) >= 0) {
    if (pkt->stream_index == v) {
      ++r.video_frames;
      if (pkt->pts != AV_NOPTS_VALUE) {
        min_pts = std::min(min_pts, pkt->pts);
        if (pkt->pts >= max_pts) {
          max_pts = pkt->pts;
          last_dur = pkt->duration;
        }
      }
      if (pkt->dts != AV_NOPTS_VALUE) {
        if (last_dts != INT64_MIN && pkt->dts <= last_dts) r.dts_monotonic = false;
        last_dts = pkt->dts;
      }
    } else if (pkt->stream_index == a) {
      ++r.audio_packets;
      if (pkt->pts != AV_NOPTS_VALUE) {
        amin = std::min(amin, pkt->pts);
        if (pkt->pts >= amax) {
          amax = pkt->pts;
          adur = pkt->duration;
        }
      }
    }
    av_packet_unref(pkt.get());
  }
  // Containers that store no per-packet duration (MPEG-TS, some MP4 readings): the last frame lasts as
  // long as the average one.
  if (last_dur <= 0 && r.video_frames > 1 && max_pts > min_pts)
    last_dur = (max_pts - min_pts) / (r.video_frames - 1);
  if (min_pts != INT64_MAX)
    r.video_duration_s = static_cast<double>(max_pts + last_dur - min_pts) * vtb.num / vtb.den;
  if (amin != INT64_MAX) {
    r.audio_duration_s = static_cast<double>(amax + adur - amin) * atb.num / atb.den;
    if (min_pts != INT64_MAX)
      r.av_start_offset_s =
          static_cast<double>(amin) * atb.num / atb.den - static_cast<double>(min_pts) * vtb.num / vtb.den;
  }
  if (min_pts != INT64_MAX) r.video_start_s = static_cast<double>(min_pts) * vtb.num / vtb.den;
  if (with_picture) read_picture_fidelity(path, v, r);
  if (std::filesystem::path(path).extension() == ".m3u8") read_hls_tracks(path, r);
  return r;
}

OutputReport verify_output(const std::string& path, const OutputExpectation& expect) {
  const OutputReport r = inspect_output(path, true);
  std::vector<std::string> lost;
  auto fail_now = [&](const std::string& what) {
    throw Error(ErrorCode::kVerify, "output check failed: " + what);
  };
  if (r.video_frames != expect.frames)
    fail_now(std::to_string(r.video_frames) + " video frames, the input has " +
             std::to_string(expect.frames));
  if (!r.dts_monotonic) fail_now("video timestamps are not strictly increasing");
  // A container may not store the last frame's duration; then it counts as missing up to one frame.
  if (std::abs(r.video_duration_s - expect.duration_s) > expect.tolerance_s * 1.01 + 1e-3) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "video lasts %.3f s, the input %.3f s", r.video_duration_s,
                  expect.duration_s);
    fail_now(buf);
  }
  if (expect.audio && (!r.has_audio || r.audio_packets == 0))
    fail_now("the input has audio but the output has none");

  // Fidelity: every difference is named, so one run tells the whole story.
  const FidelityExpectation& f = expect.fidelity;
  if (f.displayed_width > 0 &&
      (r.displayed_width != f.displayed_width || r.displayed_height != f.displayed_height))
    lost.push_back("displayed as " + std::to_string(r.displayed_width) + "x" +
                   std::to_string(r.displayed_height) + ", the input as " +
                   std::to_string(f.displayed_width) + "x" + std::to_string(f.displayed_height));
  if (f.bit_depth > 0 && r.bit_depth != f.bit_depth)
    lost.push_back(std::to_string(r.bit_depth) + "-bit video, expected " + std::to_string(f.bit_depth) +
                   "-bit");
  if (f.color_trc != AVCOL_TRC_UNSPECIFIED && r.color_trc != f.color_trc)
    lost.push_back(std::string("transfer ") +
                   name_or(av_color_transfer_name(static_cast<AVColorTransferCharacteristic>(r.color_trc))) +
                   ", expected " +
                   name_or(av_color_transfer_name(static_cast<AVColorTransferCharacteristic>(f.color_trc))));
  if (f.color_primaries != AVCOL_PRI_UNSPECIFIED && r.color_primaries != f.color_primaries)
    lost.push_back(std::string("primaries ") +
                   name_or(av_color_primaries_name(static_cast<AVColorPrimaries>(r.color_primaries))) +
                   ", expected " +
                   name_or(av_color_primaries_name(static_cast<AVColorPrimaries>(f.color_primaries))));
  if (f.colorspace != AVCOL_SPC_UNSPECIFIED && r.colorspace != f.colorspace)
    lost.push_back(std::string("matrix ") +
                   name_or(av_color_space_name(static_cast<AVColorSpace>(r.colorspace))) + ", expected " +
                   name_or(av_color_space_name(static_cast<AVColorSpace>(f.colorspace))));
  if (f.full_range && r.color_range != AVCOL_RANGE_JPEG) lost.push_back("full colour range became limited");
  if (f.hdr_metadata && !r.hdr_metadata) lost.push_back("HDR10 mastering-display/light-level metadata");
  if (f.audio && !same_tracks(r.audio_tracks, *f.audio))
    lost.push_back("audio tracks " + tracks_text(r.audio_tracks) + ", expected " + tracks_text(*f.audio));
  if (f.subtitles && !same_tracks(r.subtitle_tracks, *f.subtitles))
    lost.push_back("subtitle tracks " + tracks_text(r.subtitle_tracks) + ", expected " +
                   tracks_text(*f.subtitles));
  if (f.chapters >= 0 && r.chapters != f.chapters)
    lost.push_back(std::to_string(r.chapters) + " chapters, the input has " + std::to_string(f.chapters));
  if (!f.title.empty() && r.title != f.title) lost.push_back("the title '" + f.title.substr(0, 60) + "'");
  if (f.av_start_offset_s && r.has_audio &&
      std::abs(r.av_start_offset_s - *f.av_start_offset_s) > expect.tolerance_s + 1e-3) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "audio starts %+.3f s from the video, the input %+.3f s",
                  r.av_start_offset_s, *f.av_start_offset_s);
    lost.push_back(buf);
  }
  if (!lost.empty()) {
    std::string what;
    for (const auto& l : lost) what += (what.empty() ? "" : "; ") + l;
    fail_now("the output lost what the input has: " + what);
  }
  return r;
}

void verify_audio_rendition(const std::string& playlist, const TrackExpectation& track, double video_start_s,
                            std::optional<double> av_start_offset_s, double tolerance_s) {
  auto fail = [&](const std::string& what) {
    throw Error(ErrorCode::kVerify, "output check failed: audio rendition " +
                                        std::filesystem::path(playlist).filename().string() + ": " + what);
  };
  AVFormatContext* raw = nullptr;
  check_av(avformat_open_input(&raw, playlist.c_str(), nullptr, nullptr), ErrorCode::kVerify, playlist);
  av::InputFormat fmt(raw);
  check_av(avformat_find_stream_info(fmt.get(), nullptr), ErrorCode::kVerify, playlist);
  const int a = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (a < 0) fail("no audio stream");
  const AVRational tb = fmt->streams[a]->time_base;
  std::int64_t packets = 0, first = INT64_MAX;
  av::Packet pkt = av::make_packet();
  while (av_read_frame(fmt.get(), pkt.get()) >= 0) {
    if (pkt->stream_index == a) {
      ++packets;
      if (pkt->pts != AV_NOPTS_VALUE) first = std::min(first, pkt->pts);
    }
    av_packet_unref(pkt.get());
  }
  if (packets == 0) fail("no audio packets");
  OutputReport tracks;
  read_hls_tracks(playlist, tracks);
  if (!same_tracks(tracks.audio_tracks, {track}))
    fail("tracks " + tracks_text(tracks.audio_tracks) + ", expected " + tracks_text({track}));
  const double offset = static_cast<double>(first) * tb.num / tb.den - video_start_s;
  if (av_start_offset_s && std::abs(offset - *av_start_offset_s) > tolerance_s + 1e-3) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "starts %+.3f s from the video, the input's audio %+.3f s", offset,
                  *av_start_offset_s);
    fail(buf);
  }
}

namespace {

av::InputFormat open_manifest(const std::string& mpd) {
  AVFormatContext* raw = nullptr;
  // The reader refuses to open a subtitle set's .vtt ("not a common multimedia extension") unless told
  // otherwise; the manifest and its files are our own output.
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "allowed_extensions", "ALL", 0);
  const int ret = avformat_open_input(&raw, mpd.c_str(), nullptr, &opts);
  av_dict_free(&opts);
  if (ret < 0)
    throw Error(ErrorCode::kVerify, "output check failed: FFmpeg's DASH reader cannot open the manifest");
  av::InputFormat fmt(raw);
  check_av(avformat_find_stream_info(fmt.get(), nullptr), ErrorCode::kVerify, mpd);
  return fmt;
}

// One stream's packets, the others discarded. (Read together, FFmpeg 5.1's DASH reader ends every
// stream when the first one ends: a 240p rung came out 2 frames short of its 144 while ffmpeg -map read
// all 144.)
std::int64_t count_stream_packets(const std::string& mpd, unsigned stream) {
  auto fmt = open_manifest(mpd);
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (i != stream) fmt->streams[i]->discard = AVDISCARD_ALL;
  std::int64_t n = 0;
  av::Packet pkt = av::make_packet();
  while (av_read_frame(fmt.get(), pkt.get()) >= 0) {
    if (pkt->stream_index == static_cast<int>(stream)) ++n;
    av_packet_unref(pkt.get());
  }
  return n;
}

}  // namespace

void verify_dash_manifest(const std::string& mpd, std::int64_t frames, int video, int audio) {
  auto fail = [&](const std::string& what) {
    throw Error(ErrorCode::kVerify, "output check failed: " + what);
  };
  std::vector<AVMediaType> types;
  {
    auto fmt = open_manifest(mpd);
    for (unsigned i = 0; i < fmt->nb_streams; ++i) types.push_back(fmt->streams[i]->codecpar->codec_type);
  }
  int videos = 0, audios = 0;
  for (unsigned i = 0; i < types.size(); ++i) {
    if (types[i] == AVMEDIA_TYPE_VIDEO) {
      const std::int64_t n = count_stream_packets(mpd, i);
      if (n != frames)
        fail("DASH video representation " + std::to_string(videos) + ": " + std::to_string(n) +
             " frames, the input has " + std::to_string(frames));
      ++videos;
    } else if (types[i] == AVMEDIA_TYPE_AUDIO) {
      if (count_stream_packets(mpd, i) == 0) fail("a DASH audio representation has no packets");
      ++audios;
    }
  }
  if (videos != video || audios != audio)
    fail("the DASH manifest has " + std::to_string(videos) + " video and " + std::to_string(audios) +
         " audio representations, expected " + std::to_string(video) + " and " + std::to_string(audio));
}

}  // namespace pvt
