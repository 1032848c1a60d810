#include "assemble.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "atomic_file.hpp"
#include "av_handles.hpp"
#include "error.hpp"

extern "C" {
#include <libavutil/opt.h>
}

namespace pvt {
namespace fs = std::filesystem;

namespace {

av::InputFormat open_input(const std::string& path) {
  AVFormatContext* raw = nullptr;
  check_av(avformat_open_input(&raw, path.c_str(), nullptr, nullptr), ErrorCode::kEncode, path);
  av::InputFormat fmt(raw);
  check_av(avformat_find_stream_info(fmt.get(), nullptr), ErrorCode::kEncode, path);
  return fmt;
}

// Video packets of all segments in order, timestamps in the input's video time base, with the
// segment's own timeline restored and decode timestamps kept strictly increasing across joins.
class VideoPackets {
 public:
  VideoPackets(const AssemblyInput& in) : in_(in) {}

  // The first segment's stream parameters (x264 headers): what the output's video stream declares.
  void copy_parameters(AVCodecParameters* par) {
    auto fmt = open_input(in_.segments.at(0).path);
    check_av(avcodec_parameters_copy(par, fmt->streams[0]->codecpar), ErrorCode::kInternal,
             "video parameters");
    par->codec_tag = 0;
  }

  // Next packet or false at the end; segment receives the index of the segment it belongs to.
  bool next(AVPacket* pkt, int& segment) {
    while (true) {
      if (!fmt_) {
        if (current_ + 1 >= static_cast<int>(in_.segments.size())) return false;
        ++current_;
        fmt_ = open_input(in_.segments[current_].path);
        have_shift_ = false;
      }
      const int ret = av_read_frame(fmt_.get(), pkt);
      if (ret == AVERROR_EOF) {
        fmt_.reset();
        continue;
      }
      check_av(ret, ErrorCode::kEncode, in_.segments[current_].path);
      av_packet_rescale_ts(pkt, fmt_->streams[pkt->stream_index]->time_base, in_.video_time_base);
      // The segment's first packet is its IDR, the first frame shown: it must land on start_pts.
      if (!have_shift_) {
        shift_ = in_.segments[current_].start_pts - pkt->pts;
        have_shift_ = true;
      }
      pkt->pts += shift_;
      if (pkt->dts != AV_NOPTS_VALUE)
        pkt->dts += shift_;
      else
        pkt->dts = pkt->pts;
      if (last_dts_ != AV_NOPTS_VALUE && pkt->dts <= last_dts_) {
        pkt->dts = last_dts_ + 1;
        ++repairs_;
        if (pkt->dts > pkt->pts)
          throw Error(ErrorCode::kEncode,
                      "segment " + std::to_string(current_) + " overlaps the previous one in time");
      }
      last_dts_ = pkt->dts;
      if (in_.frames) {
        // Encoders do not carry frame durations through; the input's frame table has them exactly (VFR too).
        auto it = std::lower_bound(in_.frames->begin(), in_.frames->end(), pkt->pts,
                                   [](const FrameEntry& e, std::int64_t v) { return e.pts < v; });
        if (it != in_.frames->end() && it->pts == pkt->pts) pkt->duration = it->duration;
      }
      pkt->pts -= in_.origin;
      pkt->dts -= in_.origin;
      pkt->stream_index = 0;
      segment = current_;
      return true;
    }
  }

  int repairs() const { return repairs_; }

 private:
  const AssemblyInput& in_;
  int current_ = -1;
  av::InputFormat fmt_;
  std::int64_t shift_ = 0;
  bool have_shift_ = false;
  std::int64_t last_dts_ = AV_NOPTS_VALUE;
  int repairs_ = 0;
};

class AudioPackets {
 public:
  AudioPackets(const AudioTrack& t, std::int64_t video_origin, AVRational video_tb) : track_(t) {
    if (!t.present) return;
    fmt_ = open_input(t.path);
    origin_ = av_rescale_q(video_origin, video_tb, fmt_->streams[t.stream]->time_base);
    for (unsigned i = 0; i < fmt_->nb_streams; ++i)
      if (static_cast<int>(i) != t.stream) fmt_->streams[i]->discard = AVDISCARD_ALL;
  }
  bool present() const { return static_cast<bool>(fmt_); }
  AVStream* stream() const { return fmt_->streams[track_.stream]; }

  bool next(AVPacket* pkt) {
    while (fmt_) {
      const int ret = av_read_frame(fmt_.get(), pkt);
      if (ret < 0) return false;  // EOF, or a damaged tail of the input's audio: keep what was read
      if (pkt->stream_index != track_.stream) {
        av_packet_unref(pkt);
        continue;
      }
      if (pkt->pts == AV_NOPTS_VALUE) pkt->pts = pkt->dts;
      if (pkt->pts == AV_NOPTS_VALUE) {
        av_packet_unref(pkt);
        continue;
      }
      if (track_.realign && !have_shift_) {
        shift_ = track_.expected_first_pts - pkt->pts;
        have_shift_ = true;
      }
      pkt->pts += shift_ - origin_;
      if (pkt->dts != AV_NOPTS_VALUE) pkt->dts += shift_ - origin_;
      if (pkt->dts == AV_NOPTS_VALUE) pkt->dts = pkt->pts;
      // Copied audio of damaged or joined input can go back in time; muxers refuse a decode timestamp that
      // does not increase (EINVAL), so such a packet is dropped like a damaged one.
      if ((last_dts_ != AV_NOPTS_VALUE && pkt->dts <= last_dts_) || pkt->pts < pkt->dts) {
        av_packet_unref(pkt);
        continue;
      }
      last_dts_ = pkt->dts;
      pkt->pos = -1;
      return true;
    }
    return false;
  }

 private:
  const AudioTrack& track_;
  av::InputFormat fmt_;
  std::int64_t origin_ = 0;
  std::int64_t shift_ = 0;
  bool have_shift_ = false;
  std::int64_t last_dts_ = AV_NOPTS_VALUE;
};

// A one-packet look-ahead over a source, so two sources can be merged by timestamp.
template <typename Source>
struct Peeked {
  av::Packet pkt = av::make_packet();
  bool valid = false;
  int segment = 0;
};

av::OutputFormat open_output(const std::string& format, const std::string& path) {
  AVFormatContext* raw = nullptr;
  check_av(avformat_alloc_output_context2(&raw, nullptr, format.c_str(), path.c_str()), ErrorCode::kOutput,
           path);
  return av::OutputFormat(raw);
}

void open_file(AVFormatContext* fmt, const std::string& path, AVDictionary** opts) {
  const int ret = avio_open(&fmt->pb, path.c_str(), AVIO_FLAG_WRITE);
  if (ret < 0) throw Error(ErrorCode::kOutput, path + ": cannot write: " + av_error_text(ret));
  check_av(avformat_write_header(fmt, opts), ErrorCode::kOutput, path);
}

// Writes a packet of the audio track; false when it was dropped. Copied audio is the input's own bytes, and
// the muxer's automatic ADTS -> MP4 filter (aac_adtstoasc) refuses a damaged ADTS header with
// AVERROR_INVALIDDATA: such a packet loses its samples, as a damaged packet does when the audio is
// encoded, instead of failing the whole job as an output error.
bool write_audio(AVFormatContext* fmt, AVPacket* pkt, const std::string& path) {
  const int ret = av_interleaved_write_frame(fmt, pkt);
  if (ret == AVERROR_INVALIDDATA) {
    av_packet_unref(pkt);
    return false;
  }
  check_av(ret, ErrorCode::kOutput, path);
  return true;
}

void close_file(AVFormatContext* fmt, const std::string& path) {
  check_av(av_write_trailer(fmt), ErrorCode::kOutput, path);
  check_av(avio_closep(&fmt->pb), ErrorCode::kOutput, path);
}

}  // namespace

AssemblyResult assemble_mp4(const AssemblyInput& in, const std::string& path) {
  AssemblyResult result;
  VideoPackets video(in);
  AudioPackets audio(in.audio, in.origin, in.video_time_base);
  auto out = open_output("mp4", path);
  AVStream* vs = avformat_new_stream(out.get(), nullptr);
  video.copy_parameters(vs->codecpar);
  vs->time_base = in.video_time_base;
  AVStream* as = nullptr;
  if (audio.present()) {
    as = avformat_new_stream(out.get(), nullptr);
    check_av(avcodec_parameters_copy(as->codecpar, audio.stream()->codecpar), ErrorCode::kInternal, "audio");
    as->codecpar->codec_tag = 0;
    as->time_base = audio.stream()->time_base;
  }
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "movflags", "+faststart", 0);
  open_file(out.get(), path, &opts);
  av_dict_free(&opts);

  Peeked<VideoPackets> v;
  Peeked<AudioPackets> a;
  v.valid = video.next(v.pkt.get(), v.segment);
  a.valid = audio.present() && audio.next(a.pkt.get());
  const AVRational atb = audio.present() ? audio.stream()->time_base : AVRational{1, 1};
  while (v.valid || a.valid) {
    const bool take_video =
        v.valid && (!a.valid || av_compare_ts(v.pkt->dts, in.video_time_base, a.pkt->dts, atb) <= 0);
    if (take_video) {
      av_packet_rescale_ts(v.pkt.get(), in.video_time_base, vs->time_base);
      v.pkt->stream_index = vs->index;
      check_av(av_interleaved_write_frame(out.get(), v.pkt.get()), ErrorCode::kOutput, path);
      ++result.video_packets;
      v.valid = video.next(v.pkt.get(), v.segment);
    } else {
      av_packet_rescale_ts(a.pkt.get(), atb, as->time_base);
      a.pkt->stream_index = as->index;
      if (write_audio(out.get(), a.pkt.get(), path)) ++result.audio_packets;
      a.valid = audio.next(a.pkt.get());
    }
  }
  close_file(out.get(), path);
  result.dts_repairs = video.repairs();
  result.files.push_back(path);
  return result;
}

AssemblyResult assemble_hls(const AssemblyInput& in, const std::string& dir, const HlsLayout& layout) {
  AssemblyResult result;
  VideoPackets video(in);
  AudioPackets audio(in.audio, in.origin, in.video_time_base);
  const AVRational vtb = in.video_time_base;
  const AVRational atb = audio.present() ? audio.stream()->time_base : AVRational{1, 1};

  Peeked<VideoPackets> v;
  Peeked<AudioPackets> a;
  v.valid = video.next(v.pkt.get(), v.segment);
  a.valid = audio.present() && audio.next(a.pkt.get());
  // MPEG-TS cannot carry negative timestamps and each segment is muxed separately: shift the whole
  // timeline once so the earliest decode timestamp is zero, identically in every segment.
  std::int64_t shift_us = 0;
  if (v.valid) shift_us = std::max<std::int64_t>(shift_us, -av_rescale_q(v.pkt->dts, vtb, AV_TIME_BASE_Q));
  if (a.valid) shift_us = std::max<std::int64_t>(shift_us, -av_rescale_q(a.pkt->dts, atb, AV_TIME_BASE_Q));
  const std::int64_t vshift = av_rescale_q_rnd(shift_us, AV_TIME_BASE_Q, vtb, AV_ROUND_UP);
  const std::int64_t ashift =
      audio.present() ? av_rescale_q(av_rescale_q(vshift, vtb, AV_TIME_BASE_Q), AV_TIME_BASE_Q, atb) : 0;

  std::ostringstream playlist;
  const int n = static_cast<int>(in.segments.size());
  double longest = 0;
  std::vector<std::string> names;
  for (int s = 0; s < n; ++s) {
    const auto& seg = in.segments[s];
    const double dur = static_cast<double>(seg.end_pts - seg.start_pts) * vtb.num / vtb.den;
    result.segment_durations.push_back(dur);
    longest = std::max(longest, dur);
    char name[64];
    std::snprintf(name, sizeof name, "%05d.ts", s);
    names.push_back(layout.segment_prefix + name);
  }

  AVCodecParameters* vpar = avcodec_parameters_alloc();
  video.copy_parameters(vpar);
  std::unique_ptr<AVCodecParameters, void (*)(AVCodecParameters*)> vpar_owner(
      vpar, [](AVCodecParameters* p) { avcodec_parameters_free(&p); });

  for (int s = 0; s < n; ++s) {
    const std::string path = (fs::path(dir) / names[s]).string();
    auto out = open_output("mpegts", path);
    AVStream* vs = avformat_new_stream(out.get(), nullptr);
    check_av(avcodec_parameters_copy(vs->codecpar, vpar), ErrorCode::kInternal, "video parameters");
    vs->time_base = vtb;
    AVStream* as = nullptr;
    if (audio.present()) {
      as = avformat_new_stream(out.get(), nullptr);
      check_av(avcodec_parameters_copy(as->codecpar, audio.stream()->codecpar), ErrorCode::kInternal,
               "audio");
      as->codecpar->codec_tag = 0;
      as->time_base = atb;
    }
    open_file(out.get(), path, nullptr);
    // Audio belongs to the segment its timestamp falls in; the first and last segments take the edges.
    const std::int64_t audio_end = s + 1 < n ? in.segments[s + 1].start_pts - in.origin : INT64_MAX;
    while ((v.valid && v.segment == s) ||
           (a.valid && (audio_end == INT64_MAX || av_compare_ts(a.pkt->pts, atb, audio_end, vtb) < 0))) {
      const bool video_left = v.valid && v.segment == s;
      const bool audio_left =
          a.valid && (audio_end == INT64_MAX || av_compare_ts(a.pkt->pts, atb, audio_end, vtb) < 0);
      const bool take_video =
          video_left && (!audio_left || av_compare_ts(v.pkt->dts, vtb, a.pkt->dts, atb) <= 0);
      if (take_video) {
        v.pkt->pts += vshift;
        v.pkt->dts += vshift;
        av_packet_rescale_ts(v.pkt.get(), vtb, vs->time_base);
        v.pkt->stream_index = vs->index;
        check_av(av_interleaved_write_frame(out.get(), v.pkt.get()), ErrorCode::kOutput, path);
        ++result.video_packets;
        v.valid = video.next(v.pkt.get(), v.segment);
      } else {
        a.pkt->pts += ashift;
        a.pkt->dts += ashift;
        av_packet_rescale_ts(a.pkt.get(), atb, as->time_base);
        a.pkt->stream_index = as->index;
        if (write_audio(out.get(), a.pkt.get(), path)) ++result.audio_packets;
        a.valid = audio.next(a.pkt.get());
      }
    }
    close_file(out.get(), path);
    result.files.push_back(path);
  }

  // RFC 8216: each EXTINF rounded to the nearest integer must not exceed the target duration.
  playlist << "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:"
           << std::max(1, static_cast<int>(std::ceil(longest)))
           << "\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n";
  for (int s = 0; s < n; ++s) {
    char line[64];
    std::snprintf(line, sizeof line, "#EXTINF:%.6f,\n", result.segment_durations[s]);
    playlist << line << names[s] << "\n";
  }
  playlist << "#EXT-X-ENDLIST\n";
  const std::string playlist_path = (fs::path(dir) / layout.playlist_name).string();
  write_file_atomically(playlist_path, playlist.str());
  result.files.push_back(playlist_path);
  result.dts_repairs = video.repairs();
  return result;
}

}  // namespace pvt
