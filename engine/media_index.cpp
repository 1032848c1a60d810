#include "media_index.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

#include "av_handles.hpp"
#include "error.hpp"
#include "stream_properties.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace pvt {
namespace fs = std::filesystem;

namespace {

constexpr int kMaxDimension = 16384;  // beyond any real camera or codec level; guards absurd headers
// Each side within bounds is not enough: a damaged header claiming 16383x16383 (268 Mpixel) passes the side
// check, then decoding and encoding garbage at that size runs for many minutes. H.264/HEVC level 6.2's
// largest picture (8192x4352, 35.6 Mpixel, 8K and DCI 8K included) bounds the area.
constexpr std::int64_t kMaxPixels = 8192 * 4352;

void check_input_path(const std::string& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw Error(ErrorCode::kInput, path + ": no such file");
  if (fs::is_directory(st)) throw Error(ErrorCode::kInput, path + ": is a directory, not a video file");
  if (!fs::is_regular_file(st)) throw Error(ErrorCode::kInput, path + ": not a regular file");
  if (fs::file_size(path, ec) == 0) throw Error(ErrorCode::kInput, path + ": file is empty");
}

std::string media_type_name(AVMediaType t) {
  const char* s = av_get_media_type_string(t);
  return s ? s : "unknown";
}

StreamSummary summarize(const AVStream* st) {
  StreamSummary s;
  s.index = st->index;
  s.type = media_type_name(st->codecpar->codec_type);
  s.codec = avcodec_get_name(st->codecpar->codec_id);
  if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
    const char* pf = av_get_pix_fmt_name(static_cast<AVPixelFormat>(st->codecpar->format));
    s.detail = std::to_string(st->codecpar->width) + "x" + std::to_string(st->codecpar->height) + " " +
               (pf ? pf : "?");
  } else if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
    s.detail = std::to_string(st->codecpar->sample_rate) + " Hz " +
               std::to_string(st->codecpar->ch_layout.nb_channels) + " ch";
  }
  return s;
}

bool is_text_codec(AVCodecID id) {
  return id == AV_CODEC_ID_ANSI || id == AV_CODEC_ID_BINTEXT || id == AV_CODEC_ID_XBIN ||
         id == AV_CODEC_ID_IDF;
}

// The video stream pvt would transcode, after the checks that make a file unusable: no video (or only
// cover art), text that FFmpeg renders as video (tty/ANSI), absurd dimensions, no decoder.
int select_video_stream(AVFormatContext* fmt, const std::string& path) {
  // Cover art is a video stream of one frame: never the thing to transcode.
  int video = -1;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVStream* st = fmt->streams[i];
    if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO || (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
      continue;
    if (video < 0) video = static_cast<int>(i);
  }
  const int best = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (best >= 0 && !(fmt->streams[best]->disposition & AV_DISPOSITION_ATTACHED_PIC)) video = best;
  if (video < 0) {
    const bool has_audio = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0;
    throw Error(ErrorCode::kInput, path + (has_audio ? ": audio only, no video stream to transcode"
                                                     : ": no video stream found"));
  }
  const AVStream* vs = fmt->streams[video];
  const AVCodecParameters* par = vs->codecpar;
  if (par->width <= 0 || par->height <= 0 || par->width > kMaxDimension || par->height > kMaxDimension ||
      static_cast<std::int64_t>(par->width) * par->height > kMaxPixels) {
    throw Error(ErrorCode::kInput, path + ": unsupported video dimensions " + std::to_string(par->width) +
                                       "x" + std::to_string(par->height));
  }
  if (par->codec_id == AV_CODEC_ID_NONE)  // a damaged codec id or tag: "no decoder for none" says nothing
    throw Error(ErrorCode::kInput, path + ": unknown video codec (damaged stream header?)");
  if (!avcodec_find_decoder(par->codec_id)) {
    throw Error(ErrorCode::kInput, path + ": no decoder for video codec " + avcodec_get_name(par->codec_id));
  }
  if (std::string(fmt->iformat->name) == "tty" || is_text_codec(par->codec_id))
    throw Error(ErrorCode::kInput, path + ": a text file, not a video");
  return video;
}

}  // namespace

double MediaInfo::nominal_frame_duration_s() const {
  if (frame_rate.num > 0 && frame_rate.den > 0) return av_q2d(av_inv_q(frame_rate));
  if (frames.size() > 1) return video_duration_s() / static_cast<double>(frames.size());
  return 1.0 / 25;
}

MediaInfo probe_media(const std::string& path) {
  check_input_path(path);
  MediaInfo info;
  info.path = path;

  AVFormatContext* raw = nullptr;
  int ret = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (ret < 0) {
    throw Error(ErrorCode::kInput, path + ": not a readable media file (" + av_error_text(ret) + ")");
  }
  av::InputFormat fmt(raw);
  generate_missing_pts(fmt.get());
  ret = avformat_find_stream_info(fmt.get(), nullptr);
  if (ret < 0)
    throw Error(ErrorCode::kInput, path + ": cannot read stream parameters (" + av_error_text(ret) + ")");

  info.container = fmt->iformat->name;
  info.container_duration_s = fmt->duration > 0 ? static_cast<double>(fmt->duration) / AV_TIME_BASE : 0;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    info.streams.push_back(summarize(fmt->streams[i]));
    read_stream_tags(fmt->streams[i], info.streams.back());
  }
  info.chapters = static_cast<int>(fmt->nb_chapters);
  if (const AVDictionaryEntry* t = av_dict_get(fmt->metadata, "title", nullptr, 0)) info.title = t->value;

  const int video = select_video_stream(fmt.get(), path);
  const AVStream* vs = fmt->streams[video];
  const AVCodecParameters* par = vs->codecpar;
  info.video_stream = video;
  info.video_codec = avcodec_get_name(par->codec_id);
  info.width = par->width;
  info.height = par->height;
  const auto pf = static_cast<AVPixelFormat>(par->format);
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(pf);
  info.pix_fmt = desc ? desc->name : "unknown";
  info.bit_depth = desc ? desc->comp[0].depth : 8;
  info.time_base = vs->time_base;
  info.frame_rate = vs->avg_frame_rate.num > 0 ? vs->avg_frame_rate : vs->r_frame_rate;
  info.display = read_video_display(vs);
  if (info.bit_depth > 8 || info.display.hdr() || par->codec_id == AV_CODEC_ID_HEVC)
    read_frame_hdr_metadata(path, video, info.display);

  const int audio = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, video, nullptr, 0);
  if (audio >= 0) {
    info.audio_stream = audio;
    const AVCodecParameters* ap = fmt->streams[audio]->codecpar;
    info.audio_codec = avcodec_get_name(ap->codec_id);
    info.audio_sample_rate = ap->sample_rate;
    info.audio_channels = ap->ch_layout.nb_channels;
    const AVStream* as = fmt->streams[audio];
    info.audio_start_us =
        as->start_time != AV_NOPTS_VALUE ? av_rescale_q(as->start_time, as->time_base, AV_TIME_BASE_Q) : 0;
  }

  // Only the video packets matter from here on: tell the demuxer to skip the rest cheaply.
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (static_cast<int>(i) != video) fmt->streams[i]->discard = AVDISCARD_ALL;

  std::error_code ec;
  const auto file_size = static_cast<std::int64_t>(fs::file_size(path, ec));
  av::Packet pkt = av::make_packet();
  while (true) {
    ret = av_read_frame(fmt.get(), pkt.get());
    if (ret == AVERROR_EOF) break;
    if (ret < 0) {
      info.truncated = true;
      info.truncation_reason = "demuxing stopped: " + av_error_text(ret);
      break;
    }
    if (pkt->stream_index == video) {
      const bool past_eof = pkt->pos >= 0 && file_size > 0 && pkt->pos + pkt->size > file_size;
      if ((pkt->flags & AV_PKT_FLAG_CORRUPT) || past_eof) {
        info.truncated = true;
        info.truncation_reason = "video data ends early (file truncated?)";
        av_packet_unref(pkt.get());
        break;
      }
      // Packets the container marks as discarded (before an edit list's start) are decoded but never shown.
      if (!(pkt->flags & AV_PKT_FLAG_DISCARD)) {
        FrameEntry e;
        e.pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
        e.dts = pkt->dts;
        e.duration = pkt->duration;
        e.size = pkt->size;
        e.keyframe = pkt->flags & AV_PKT_FLAG_KEY;
        if (e.pts == AV_NOPTS_VALUE) {
          throw Error(
              ErrorCode::kInput,
              path + ": video packets without timestamps; cannot cut frame-accurately (remux it first)");
        }
        info.frames.push_back(e);
      }
    }
    av_packet_unref(pkt.get());
  }

  if (info.frames.empty()) throw Error(ErrorCode::kInput, path + ": no video frames could be read");

  std::stable_sort(info.frames.begin(), info.frames.end(),
                   [](const FrameEntry& a, const FrameEntry& b) { return a.pts < b.pts; });
  // Two packets claiming the same pts would make frame numbering ambiguous; keep the first.
  info.frames.erase(std::unique(info.frames.begin(), info.frames.end(),
                                [](const FrameEntry& a, const FrameEntry& b) { return a.pts == b.pts; }),
                    info.frames.end());

  // Durations from pts differences; the last frame keeps its packet duration or the nominal one.
  const std::int64_t nominal =
      info.frame_rate.num > 0 ? av_rescale_q(1, av_inv_q(info.frame_rate), info.time_base) : 0;
  for (std::size_t i = 0; i + 1 < info.frames.size(); ++i)
    info.frames[i].duration = info.frames[i + 1].pts - info.frames[i].pts;
  auto& last = info.frames.back();
  if (last.duration <= 0)
    last.duration = nominal > 0 ? nominal : (info.frames.size() > 1 ? info.frames[0].duration : 1);

  // Variable frame rate: any frame whose duration strays more than 10 % (plus one tick of rounding) from
  // the median. Containers with coarse time bases (Matroska's 1 ms) jitter by one tick on CFR material.
  if (info.frames.size() > 2) {
    std::vector<std::int64_t> d;
    for (std::size_t i = 0; i + 1 < info.frames.size(); ++i) d.push_back(info.frames[i].duration);
    std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
    const std::int64_t median = d[d.size() / 2];
    const std::int64_t tolerance = median / 10 + 1;
    for (std::size_t i = 0; i + 1 < info.frames.size(); ++i)
      if (std::llabs(info.frames[i].duration - median) > tolerance) info.variable_frame_rate = true;
    if (info.frames.size() > 1) {
      info.frame_rate = av_d2q(static_cast<double>(info.frames.size()) / info.video_duration_s(), 1 << 20);
      if (!info.variable_frame_rate)
        info.frame_rate = av_inv_q(av_mul_q(AVRational{static_cast<int>(median), 1}, info.time_base));
    }
  }

  for (std::size_t i = 0; i < info.frames.size(); ++i)
    if (info.frames[i].keyframe) info.keyframes.push_back(static_cast<int>(i));
  if (info.keyframes.empty() || info.keyframes.front() != 0) {
    // Decoding must start somewhere: treat the first frame as the entry point (the decoder recovers).
    info.keyframes.insert(info.keyframes.begin(), 0);
  }
  return info;
}

void check_video_file(const std::string& path) {
  check_input_path(path);
  AVFormatContext* raw = nullptr;
  const int ret = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (ret < 0)
    throw Error(ErrorCode::kInput, path + ": not a readable media file (" + av_error_text(ret) + ")");
  av::InputFormat fmt(raw);
  const int sret = avformat_find_stream_info(fmt.get(), nullptr);
  if (sret < 0)
    throw Error(ErrorCode::kInput, path + ": cannot read stream parameters (" + av_error_text(sret) + ")");
  select_video_stream(fmt.get(), path);
}

void generate_missing_pts(AVFormatContext* fmt) {
  fmt->flags |= AVFMT_FLAG_GENPTS;
}

int keyframe_at_or_before(const MediaInfo& info, int frame) {
  auto it = std::upper_bound(info.keyframes.begin(), info.keyframes.end(), frame);
  return it == info.keyframes.begin() ? 0 : *(it - 1);
}

int frame_with_pts(const MediaInfo& info, std::int64_t pts) {
  auto it = std::lower_bound(info.frames.begin(), info.frames.end(), pts,
                             [](const FrameEntry& e, std::int64_t v) { return e.pts < v; });
  if (it == info.frames.end() || it->pts != pts) return -1;
  return static_cast<int>(it - info.frames.begin());
}

}  // namespace pvt
