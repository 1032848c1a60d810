#include "assemble.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>

#include "atomic_file.hpp"
#include "av_handles.hpp"
#include "dash_manifest.hpp"
#include "error.hpp"
#include "fmp4_segments.hpp"
#include "hls_playlist.hpp"

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

// One stream's packets for the output, in decode order, timestamps in time_base() with the origin removed.
class PacketSource {
 public:
  virtual ~PacketSource() = default;
  virtual bool next(AVPacket* pkt) = 0;
  virtual AVRational time_base() const = 0;
  // The playlist segment a video packet belongs to (-1 for other streams).
  virtual int segment() const { return -1; }
};

// Video packets of all segments in order, with the segment's own timeline restored and decode timestamps
// kept strictly increasing across joins.
class VideoPackets : public PacketSource {
 public:
  explicit VideoPackets(const AssemblyInput& in) : in_(in), pieces_(piece_starts(in)) {}

  // Where each playlist segment starts: the given ones, else each encoded segment's start.
  static std::vector<std::int64_t> piece_starts(const AssemblyInput& in) {
    if (!in.piece_starts.empty()) return in.piece_starts;
    std::vector<std::int64_t> starts;
    for (const auto& s : in.segments) starts.push_back(s.start_pts);
    return starts;
  }
  const std::vector<std::int64_t>& pieces() const { return pieces_; }

  // The first segment's stream parameters (encoder headers): what the output's video stream declares.
  void copy_parameters(AVCodecParameters* par) {
    auto fmt = open_input(in_.segments.at(0).path);
    check_av(avcodec_parameters_copy(par, fmt->streams[0]->codecpar), ErrorCode::kInternal,
             "video parameters");
    par->codec_tag = 0;
  }

  AVRational time_base() const override { return in_.video_time_base; }
  int segment() const override { return piece_; }

  bool next(AVPacket* pkt) override {
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
      pkt->dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts + shift_ : pkt->pts;
      if (last_dts_ != AV_NOPTS_VALUE && pkt->dts <= last_dts_) {
        pkt->dts = last_dts_ + 1;
        ++repairs_;
        if (pkt->dts > pkt->pts)
          throw Error(ErrorCode::kEncode,
                      "segment " + std::to_string(current_) + " overlaps the previous one in time");
      }
      last_dts_ = pkt->dts;
      track_piece(pkt);
      if (in_.frames) {
        // Encoders do not carry frame durations through; the input's frame table has them exactly (VFR too).
        auto it = std::lower_bound(in_.frames->begin(), in_.frames->end(), pkt->pts,
                                   [](const FrameEntry& e, std::int64_t v) { return e.pts < v; });
        if (it != in_.frames->end() && it->pts == pkt->pts) pkt->duration = it->duration;
      }
      pkt->pts -= in_.origin;
      pkt->dts -= in_.origin;
      pkt->stream_index = 0;
      return true;
    }
  }

  int repairs() const { return repairs_; }

 private:
  // A playlist segment begins at the keyframe on its start; in decode order every later packet of a
  // closed GOP shows after it, so the packets from there on belong to it.
  void track_piece(const AVPacket* pkt) {
    const std::size_t next = static_cast<std::size_t>(piece_ + 1);
    if (next >= pieces_.size() || pkt->pts < pieces_[next]) return;
    if (pkt->pts > pieces_[next] || !(pkt->flags & AV_PKT_FLAG_KEY))
      throw Error(ErrorCode::kEncode, "segment " + std::to_string(current_) +
                                          " has no keyframe where playlist segment " + std::to_string(next) +
                                          " starts");
    ++piece_;
  }

  const AssemblyInput& in_;
  const std::vector<std::int64_t> pieces_;
  int piece_ = -1;
  int current_ = -1;
  av::InputFormat fmt_;
  std::int64_t shift_ = 0;
  bool have_shift_ = false;
  std::int64_t last_dts_ = AV_NOPTS_VALUE;
  int repairs_ = 0;
};

// One audio track, copied from the input or read back from its encoded file.
class AudioPackets : public PacketSource {
 public:
  AudioPackets(const AudioTrack& t, std::int64_t video_origin, AVRational video_tb) : track_(t) {
    fmt_ = open_input(t.path);
    origin_ = av_rescale_q(video_origin, video_tb, fmt_->streams[t.stream]->time_base);
    for (unsigned i = 0; i < fmt_->nb_streams; ++i)
      if (static_cast<int>(i) != t.stream) fmt_->streams[i]->discard = AVDISCARD_ALL;
  }
  AVStream* stream() const { return fmt_->streams[track_.stream]; }
  AVRational time_base() const override { return stream()->time_base; }

  bool next(AVPacket* pkt) override {
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

// A subtitle track held in memory; events that end before the origin are dropped, ones that straddle it
// start at zero.
class SubtitlePackets : public PacketSource {
 public:
  SubtitlePackets(const SubtitleTrack& t, std::int64_t video_origin, AVRational video_tb)
      : track_(t), origin_(av_rescale_q(video_origin, video_tb, t.time_base)) {}
  AVRational time_base() const override { return track_.time_base; }

  bool next(AVPacket* pkt) override {
    while (next_ < track_.packets.size()) {
      const AVPacket* src = track_.packets[next_++].get();
      if (src->pts + std::max<std::int64_t>(src->duration, 0) < origin_) continue;
      check_av(av_packet_ref(pkt, src), ErrorCode::kInternal, "subtitle packet");
      // An event that straddles the origin keeps its end where it was.
      if (pkt->pts < origin_ && pkt->duration > 0) pkt->duration -= origin_ - pkt->pts;
      pkt->pts = std::max<std::int64_t>(0, pkt->pts - origin_);
      pkt->dts = pkt->pts;
      return true;
    }
    return false;
  }

 private:
  const SubtitleTrack& track_;
  std::int64_t origin_;
  std::size_t next_ = 0;
};

// A one-packet look-ahead over a source, so several sources can be merged by timestamp.
struct Lane {
  PacketSource* source = nullptr;
  AVStream* out = nullptr;  // the output stream (per file for HLS segments)
  av::Packet pkt = av::make_packet();
  bool valid = false;
  int track = -1;  // audio: index into the result's per-track counts
  void advance() { valid = source->next(pkt.get()); }
};

// The lane whose packet comes first in decode order among those `eligible` allows, or null.
template <typename Eligible>
Lane* earliest(std::vector<Lane>& lanes, Eligible eligible) {
  Lane* best = nullptr;
  for (auto& l : lanes) {
    if (!l.valid || !eligible(l)) continue;
    if (!best ||
        av_compare_ts(l.pkt->dts, l.source->time_base(), best->pkt->dts, best->source->time_base()) < 0)
      best = &l;
  }
  return best;
}

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

void close_file(AVFormatContext* fmt, const std::string& path) {
  check_av(av_write_trailer(fmt), ErrorCode::kOutput, path);
  check_av(avio_closep(&fmt->pb), ErrorCode::kOutput, path);
}

// Writes the lane's packet into its output stream; false when a copied packet was refused as damaged.
// Copied audio is the input's own bytes, and the muxer's automatic ADTS -> MP4 filter (aac_adtstoasc)
// refuses a damaged ADTS header with AVERROR_INVALIDDATA: such a packet loses its samples, as a damaged
// packet does when the audio is encoded, instead of failing the whole job as an output error.
bool write_lane_packet(AVFormatContext* fmt, Lane& l, std::int64_t shift, const std::string& path) {
  AVPacket* p = l.pkt.get();
  p->pts += av_rescale_q(shift, AV_TIME_BASE_Q, l.source->time_base());
  p->dts += av_rescale_q(shift, AV_TIME_BASE_Q, l.source->time_base());
  av_packet_rescale_ts(p, l.source->time_base(), l.out->time_base);
  p->stream_index = l.out->index;
  const int ret = av_interleaved_write_frame(fmt, p);
  if (ret == AVERROR_INVALIDDATA && l.out->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) {
    av_packet_unref(p);
    return false;
  }
  check_av(ret, ErrorCode::kOutput, path);
  return true;
}

// The input file, opened once for what assembly copies besides packets.
struct Source {
  av::InputFormat fmt;
  explicit Source(const std::string& path) : fmt(open_input(path)) {}
  const AVStream* stream(int i) const { return fmt->streams[i]; }
};

AVStream* new_stream(AVFormatContext* out, const AVCodecParameters* par, AVRational tb) {
  AVStream* st = avformat_new_stream(out, nullptr);
  if (!st) throw std::bad_alloc();
  check_av(avcodec_parameters_copy(st->codecpar, par), ErrorCode::kInternal, "stream parameters");
  st->codecpar->codec_tag = 0;
  st->time_base = tb;
  return st;
}

// The output's video stream: the segments' parameters, the input's tags and side data as planned.
AVStream* add_video_stream(AVFormatContext* out, const AVCodecParameters* par, const AssemblyInput& in,
                           const Source& src) {
  AVStream* vs = new_stream(out, par, in.video_time_base);
  // HEVC in MP4 as hvc1 (parameter sets in the sample entry, as Apple's players require; the in-band
  // copies x265 repeats are identical), not FFmpeg's default hev1.
  if (par->codec_id == AV_CODEC_ID_HEVC && std::string(out->oformat->name) == "mp4")
    vs->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
  const AVStream* iv = src.stream(in.source_video);
  if (const AVDictionaryEntry* e = av_dict_get(iv->metadata, "language", nullptr, 0))
    av_dict_set(&vs->metadata, "language", e->value, 0);
  if (const AVDictionaryEntry* e = av_dict_get(iv->metadata, "title", nullptr, 0))
    av_dict_set(&vs->metadata, "title", e->value, 0);
  set_video_side_data(iv, vs, in.video_side_data);
  return vs;
}

}  // namespace

AssemblyResult assemble_file(const AssemblyInput& in, const std::string& muxer, const std::string& path) {
  AssemblyResult result;
  Source src(in.source);
  VideoPackets video(in);
  auto out = open_output(muxer, path);
  av::CodecParameters vpar(avcodec_parameters_alloc());
  if (!vpar) throw std::bad_alloc();
  video.copy_parameters(vpar.get());

  std::vector<std::unique_ptr<PacketSource>> sources;
  std::vector<Lane> lanes;
  lanes.emplace_back();
  lanes.back().source = &video;
  lanes.back().out = add_video_stream(out.get(), vpar.get(), in, src);
  for (std::size_t i = 0; i < in.audio.size(); ++i) {
    auto a = std::make_unique<AudioPackets>(in.audio[i], in.origin, in.video_time_base);
    AVStream* st = new_stream(out.get(), a->stream()->codecpar, a->time_base());
    copy_stream_tags(src.stream(in.audio[i].input_stream), st, muxer == "mp4");
    lanes.emplace_back();
    lanes.back().source = a.get();
    lanes.back().out = st;
    lanes.back().track = static_cast<int>(i);
    sources.push_back(std::move(a));
  }
  for (const auto& s : in.subtitles) {
    auto p = std::make_unique<SubtitlePackets>(s, in.origin, in.video_time_base);
    AVStream* st = new_stream(out.get(), s.par.get(), s.time_base);
    copy_stream_tags(src.stream(s.input_stream), st, muxer == "mp4");
    lanes.emplace_back();
    lanes.back().source = p.get();
    lanes.back().out = st;
    sources.push_back(std::move(p));
  }
  for (int a : in.attachments) copy_attachment(src.stream(a), out.get());
  if (in.global_metadata) copy_global_metadata(src.fmt.get(), out.get());
  if (in.chapters)
    copy_chapters(src.fmt.get(), out.get(), av_rescale_q(in.origin, in.video_time_base, AV_TIME_BASE_Q));

  AVDictionary* opts = nullptr;
  if (muxer == "mp4") av_dict_set(&opts, "movflags", "+faststart", 0);
  open_file(out.get(), path, &opts);
  av_dict_free(&opts);

  result.audio_packets_per_track.assign(in.audio.size(), 0);
  for (auto& l : lanes) l.advance();
  while (Lane* l = earliest(lanes, [](const Lane&) { return true; })) {
    if (write_lane_packet(out.get(), *l, 0, path)) {
      if (l->source == &video) ++result.video_packets;
      if (l->track >= 0) ++result.audio_packets_per_track[l->track];
    }
    l->advance();
  }
  close_file(out.get(), path);
  for (auto n : result.audio_packets_per_track) result.audio_packets += n;
  result.dts_repairs = video.repairs();
  result.files.push_back(path);
  return result;
}

namespace {

// RFC 6381 names for the master playlist's CODECS attribute.
std::string video_codec_string(const AVCodecParameters* p) {
  char s[48];
  const uint8_t* e = p->extradata;
  if (p->codec_id == AV_CODEC_ID_H264 && e && p->extradata_size >= 4 && e[0] == 1) {
    std::snprintf(s, sizeof s, "avc1.%02X%02X%02X", e[1], e[2], e[3]);  // avcC: profile, constraints, level
    return s;
  }
  if (p->codec_id == AV_CODEC_ID_HEVC && e && p->extradata_size >= 13 && e[0] == 1) {
    const int profile = e[1] & 0x1f;
    std::snprintf(s, sizeof s, "hvc1.%d.%d.L%d.B0", profile, profile == 1 ? 6 : 4, e[12]);
    return s;
  }
  if (p->codec_id == AV_CODEC_ID_AV1 && e && p->extradata_size >= 4 && (e[0] & 0x80)) {
    // av1C: seq_profile and seq_level_idx_0, then tier and the bit depth flags.
    const int depth = (e[2] & 0x20) ? 12 : (e[2] & 0x40) ? 10 : 8;
    std::snprintf(s, sizeof s, "av01.%d.%02d%c.%02d", e[1] >> 5, e[1] & 0x1f, (e[2] & 0x80) ? 'H' : 'M',
                  depth);
    return s;
  }
  if (p->codec_id == AV_CODEC_ID_VP9) {
    // libvpx writes no level: 4.1 covers 1080p60, 5.1 up to 4K.
    const int depth = p->format == AV_PIX_FMT_YUV420P10LE ? 10 : 8;
    const int level = p->level > 0 ? p->level : (p->width * p->height > 1920 * 1088 ? 51 : 41);
    std::snprintf(s, sizeof s, "vp09.%02d.%02d.%02d", std::max(p->profile, 0), level, depth);
    return s;
  }
  if (p->codec_id == AV_CODEC_ID_AV1) return "av01.0.08M.08";
  return p->codec_id == AV_CODEC_ID_HEVC ? "hvc1" : "avc1.640028";
}

std::string audio_codec_string(const AVCodecParameters* p) {
  switch (p->codec_id) {
    case AV_CODEC_ID_AAC:
      return p->profile == FF_PROFILE_AAC_HE_V2 ? "mp4a.40.29"
             : p->profile == FF_PROFILE_AAC_HE  ? "mp4a.40.5"
                                                : "mp4a.40.2";
    case AV_CODEC_ID_MP3:
      return "mp4a.40.34";
    case AV_CODEC_ID_AC3:
      return "ac-3";
    case AV_CODEC_ID_EAC3:
      return "ec-3";
    case AV_CODEC_ID_OPUS:
      return "opus";
    default:
      return "";
  }
}

// A WebVTT file per subtitle track, in the TS segments' timeline: cue times get the same shift as the TS
// timestamps, so cue time 0 is TS timestamp 0. FFmpeg's WebVTT muxer writes no X-TIMESTAMP-MAP, and none
// is needed: without one a client must map cue time 0 to MPEG-2 timestamp 0 (RFC 8216, 3.5), which is
// what MPEGTS:0,LOCAL:00:00:00.000 would say.
void write_webvtt(const SubtitleTrack& t, const AssemblyInput& in, std::int64_t shift_us,
                  const std::string& path) {
  auto out = open_output("webvtt", path);
  AVStream* st = new_stream(out.get(), t.par.get(), t.time_base);
  Lane lane;
  SubtitlePackets packets(t, in.origin, in.video_time_base);
  lane.source = &packets;
  lane.out = st;
  open_file(out.get(), path, nullptr);
  for (lane.advance(); lane.valid; lane.advance()) write_lane_packet(out.get(), lane, shift_us, path);
  close_file(out.get(), path);
}

// A stream's language tag for a manifest; "und" (undetermined) says nothing, so it is left out.
std::string language_tag(const AVStream* st) {
  const AVDictionaryEntry* lang = av_dict_get(st->metadata, "language", nullptr, 0);
  return lang && std::string(lang->value) != "und" ? lang->value : "";
}

std::string playlist_line_name(const std::string& title, const std::string& language, std::size_t i) {
  if (!title.empty()) return title;
  if (!language.empty()) return language;
  return "Subtitles " + std::to_string(i + 1);
}

}  // namespace

// The AudioSpecificConfig of ADTS AAC (copied from an MPEG-TS input, say), from its first packet's header:
// an fMP4 init segment is written before any packet, so the muxer's own ADTS filter comes too late to
// give it one, and the audio would not decode. Empty when the packet is not ADTS.
std::vector<std::uint8_t> asc_from_adts(const AVPacket* pkt) {
  const std::uint8_t* d = pkt ? pkt->data : nullptr;
  if (!d || pkt->size < 7 || d[0] != 0xFF || (d[1] & 0xF6) != 0xF0) return {};
  const int object_type = (d[2] >> 6) + 1;
  const int frequency_index = (d[2] >> 2) & 0x0F;
  const int channels = ((d[2] & 0x01) << 2) | (d[3] >> 6);
  return {static_cast<std::uint8_t>((object_type << 3) | (frequency_index >> 1)),
          static_cast<std::uint8_t>(((frequency_index & 1) << 7) | (channels << 3))};
}

// Drops a packet's ADTS header (7 bytes, 9 with a CRC) so the MP4 muxer gets raw AAC: its own ADTS filter
// would change the stream's parameters after the fMP4 init segment was written.
void strip_adts(AVPacket* pkt) {
  const std::uint8_t* d = pkt->data;
  if (pkt->size < 7 || d[0] != 0xFF || (d[1] & 0xF6) != 0xF0) return;
  const int header = (d[1] & 0x01) ? 7 : 9;
  if (pkt->size <= header || (d[6] & 0x03) != 0) return;  // several raw blocks in one frame: left alone
  pkt->data += header;
  pkt->size -= header;
}

void set_extradata(AVCodecParameters* par, const std::vector<std::uint8_t>& bytes) {
  av_freep(&par->extradata);
  par->extradata = static_cast<std::uint8_t*>(av_mallocz(bytes.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!par->extradata) throw std::bad_alloc();
  std::copy(bytes.begin(), bytes.end(), par->extradata);
  par->extradata_size = static_cast<int>(bytes.size());
}

// HLS segments as fragmented MP4 for the codecs MPEG-TS cannot carry (AV1, VP9).
bool needs_fmp4(AVCodecID codec) {
  return codec == AV_CODEC_ID_AV1 || codec == AV_CODEC_ID_VP9;
}

namespace {

// One rendition's media segments (MPEG-TS, or fMP4 with an init segment) and its media playlist's text,
// with what a master playlist and a DASH manifest say of it.
struct HlsMedia {
  AssemblyResult result;
  std::string playlist;  // the media playlist's text
  HlsVariant variant;    // uri left empty
  std::int64_t shift_us = 0;
  DashTimeline timeline;              // of its first stream (the video, or the audio of an audio rendition)
  int sample_rate = 0, channels = 0;  // an audio rendition's
};

// Which of the input's streams a rendition carries.
struct MediaStreams {
  static constexpr int kAllAudio = -1, kNoAudio = -2;
  bool video = true;
  int audio = kAllAudio;  // or one track's index in AssemblyInput::audio
  bool keeps_audio(int track) const { return audio == kAllAudio || audio == track; }
};

double total_duration(const AssemblyResult& r) {
  double total_s = 0;
  for (double d : r.segment_durations) total_s += d;
  return total_s;
}

// Where each segment of the first lane starts and ends in its output time base, from the packets written.
class TimelineRecorder {
 public:
  explicit TimelineRecorder(int segments) : starts_(segments, INT64_MAX), ends_(segments, INT64_MIN) {}
  void add(int segment, const AVPacket* pkt, AVRational from, AVRational to, std::int64_t shift_us) {
    if (pkt->pts == AV_NOPTS_VALUE) return;
    const std::int64_t pts = av_rescale_q(pkt->pts + av_rescale_q(shift_us, AV_TIME_BASE_Q, from), from, to);
    starts_[segment] = std::min(starts_[segment], pts);
    ends_[segment] =
        std::max(ends_[segment], pts + av_rescale_q(std::max<std::int64_t>(pkt->duration, 0), from, to));
    tb_ = to;
  }
  // Segments with no packet (audio that ends early) are left out; each lasts until the next begins.
  DashTimeline finish() const {
    DashTimeline t;
    if (tb_.num != 1 || tb_.den <= 0) return t;  // muxers give fMP4 tracks a 1/timescale time base
    t.timescale = tb_.den;
    for (std::size_t s = 0; s < starts_.size(); ++s) {
      if (starts_[s] == INT64_MAX) continue;
      t.starts.push_back(starts_[s]);
      t.durations.push_back(ends_[s] - starts_[s]);
    }
    for (std::size_t s = 0; s + 1 < t.starts.size(); ++s) t.durations[s] = t.starts[s + 1] - t.starts[s];
    return t;
  }

 private:
  std::vector<std::int64_t> starts_, ends_;
  AVRational tb_{0, 1};
};

HlsMedia write_hls_media(const AssemblyInput& in, const std::string& dir, const HlsLayout& layout,
                         MediaStreams streams = {}) {
  HlsMedia m;
  AssemblyResult& result = m.result;
  Source src(in.source);
  VideoPackets video(in);
  const AVRational vtb = in.video_time_base;
  std::vector<std::unique_ptr<AudioPackets>> audio;
  for (const auto& t : in.audio) audio.push_back(std::make_unique<AudioPackets>(t, in.origin, vtb));

  std::vector<Lane> lanes(1 + audio.size());
  lanes[0].source = &video;
  for (std::size_t i = 0; i < audio.size(); ++i) {
    lanes[i + 1].source = audio[i].get();
    lanes[i + 1].track = static_cast<int>(i);
  }
  for (auto& l : lanes) l.advance();
  // MPEG-TS cannot carry negative timestamps and each segment is muxed separately: shift the whole
  // timeline once so the earliest decode timestamp is zero, identically in every segment (and in the
  // subtitles, whose cue times follow the same shift). Over every stream, whichever this rendition
  // carries, so that separate renditions keep one timeline.
  std::int64_t shift_us = 0;
  for (auto& l : lanes)
    if (l.valid)
      shift_us =
          std::max<std::int64_t>(shift_us, -av_rescale_q(l.pkt->dts, l.source->time_base(), AV_TIME_BASE_Q));
  // Rounded up to a whole video tick, so video timestamps shift exactly.
  shift_us = av_rescale_q(av_rescale_q_rnd(shift_us, AV_TIME_BASE_Q, vtb, AV_ROUND_UP), vtb, AV_TIME_BASE_Q);
  lanes.erase(std::remove_if(lanes.begin(), lanes.end(),
                             [&](const Lane& l) {
                               return l.source == &video ? !streams.video : !streams.keeps_audio(l.track);
                             }),
              lanes.end());
  if (lanes.empty()) throw Error(ErrorCode::kInternal, "a rendition with no stream");

  av::CodecParameters vpar(avcodec_parameters_alloc());
  if (!vpar) throw std::bad_alloc();
  video.copy_parameters(vpar.get());
  const bool fmp4 = layout.fmp4 || needs_fmp4(vpar->codec_id);
  const std::string init_name = layout.segment_prefix + "init.mp4";

  const std::vector<std::int64_t>& starts = video.pieces();
  const int n = static_cast<int>(starts.size());
  const std::int64_t end_pts = in.segments.back().end_pts;
  std::vector<std::string> names;
  for (int s = 0; s < n; ++s) {
    const std::int64_t piece_end = s + 1 < n ? starts[s + 1] : end_pts;
    result.segment_durations.push_back(static_cast<double>(piece_end - starts[s]) * vtb.num / vtb.den);
    char name[64];
    std::snprintf(name, sizeof name, fmp4 ? "%05d.m4s" : "%05d.ts", s);
    names.push_back(layout.segment_prefix + name);
  }
  result.audio_packets_per_track.assign(in.audio.size(), 0);
  std::int64_t total_bytes = 0;
  double peak_bps = 0;

  // The streams of a segment's muxer, in the lanes' order.
  auto add_streams = [&](AVFormatContext* out) {
    for (auto& l : lanes) {
      if (l.source == &video) {
        l.out = add_video_stream(out, vpar.get(), in, src);
        continue;
      }
      l.out = new_stream(out, audio[l.track]->stream()->codecpar, audio[l.track]->time_base());
      copy_stream_tags(src.stream(in.audio[l.track].input_stream), l.out);
    }
  };
  std::optional<FragmentedSegments> fragments;
  if (fmp4) {
    const std::string init_path = (fs::path(dir) / init_name).string();
    auto out = open_output("mp4", init_path);
    add_streams(out.get());
    for (auto& l : lanes) {
      if (l.track < 0) continue;
      AVCodecParameters* par = l.out->codecpar;
      if (par->codec_id != AV_CODEC_ID_AAC || par->extradata_size > 0 || !l.valid) continue;
      if (const auto asc = asc_from_adts(l.pkt.get()); !asc.empty()) set_extradata(par, asc);
    }
    fragments.emplace(std::move(out), init_path);
    result.files.push_back(init_path);
  }

  TimelineRecorder timeline(n);
  for (int s = 0; s < n; ++s) {
    const std::string path = (fs::path(dir) / names[s]).string();
    av::OutputFormat ts;
    AVFormatContext* out = nullptr;
    if (fragments) {
      out = fragments->begin();
    } else {
      ts = open_output("mpegts", path);
      out = ts.get();
      add_streams(out);
      open_file(out, path, nullptr);
    }
    // Audio belongs to the segment its timestamp falls in; the first and last segments take the edges
    // (an audio rendition's segments end where the video's do, without reading the video).
    const std::int64_t audio_end = s + 1 < n ? starts[s + 1] - in.origin : INT64_MAX;
    auto in_segment = [&](const Lane& l) {
      if (l.source == &video) return l.source->segment() == s;
      return audio_end == INT64_MAX || av_compare_ts(l.pkt->pts, l.source->time_base(), audio_end, vtb) < 0;
    };
    while (Lane* l = earliest(lanes, in_segment)) {
      if (fragments && l->source != &video && l->out->codecpar->codec_id == AV_CODEC_ID_AAC)
        strip_adts(l->pkt.get());
      if (l == &lanes.front())
        timeline.add(s, l->pkt.get(), l->source->time_base(), l->out->time_base, shift_us);
      if (write_lane_packet(out, *l, shift_us, path)) {
        if (l->source == &video) ++result.video_packets;
        if (l->track >= 0) ++result.audio_packets_per_track[l->track];
      }
      l->advance();
    }
    if (fragments)
      fragments->end(path);
    else
      close_file(out, path);
    result.files.push_back(path);
    const auto bytes = static_cast<std::int64_t>(fs::file_size(path));
    total_bytes += bytes;
    peak_bps =
        std::max(peak_bps, static_cast<double>(bytes) * 8 / std::max(result.segment_durations[s], 1e-3));
  }
  if (fragments) fragments->finish();
  for (auto c : result.audio_packets_per_track) result.audio_packets += c;
  result.dts_repairs = video.repairs();

  m.playlist = media_playlist(names, result.segment_durations, fmp4 ? init_name : "");
  m.shift_us = shift_us;
  m.timeline = timeline.finish();
  const double total_s = total_duration(result);
  HlsVariant& v = m.variant;
  v.bandwidth = static_cast<long long>(peak_bps);
  v.average_bandwidth =
      total_s > 0 ? static_cast<long long>(static_cast<double>(total_bytes) * 8 / total_s) : 0;
  std::set<std::string> codecs;
  if (streams.video) {
    v.width = vpar->width;
    v.height = vpar->height;
    v.frame_rate = in.frame_rate;
    codecs.insert(video_codec_string(vpar.get()));
  }
  for (const auto& l : lanes) {
    if (l.track < 0) continue;
    const AVCodecParameters* par = audio[l.track]->stream()->codecpar;
    if (const std::string c = audio_codec_string(par); !c.empty()) codecs.insert(c);
    m.sample_rate = par->sample_rate;
    m.channels = par->ch_layout.nb_channels;
  }
  for (const auto& c : codecs) v.codecs += (v.codecs.empty() ? "" : ",") + c;
  return m;
}

// One WebVTT rendition per subtitle track, beside the master playlist.
// playlists: also each track's HLS playlist (a DASH manifest names the WebVTT file itself).
std::vector<HlsRendition> write_hls_subtitles(const AssemblyInput& in, const std::string& dir,
                                              const std::string& stem, std::int64_t shift_us, double total_s,
                                              std::vector<std::string>& files, bool playlists = true) {
  Source src(in.source);
  std::vector<HlsRendition> renditions;
  for (std::size_t i = 0; i < in.subtitles.size(); ++i) {
    const auto& t = in.subtitles[i];
    const std::string base = stem + "_sub" + std::to_string(i);
    write_webvtt(t, in, shift_us, (fs::path(dir) / (base + ".vtt")).string());
    files.push_back((fs::path(dir) / (base + ".vtt")).string());
    if (playlists) {
      write_file_atomically((fs::path(dir) / (base + ".m3u8")).string(),
                            subtitle_playlist(base + ".vtt", total_s));
      files.push_back((fs::path(dir) / (base + ".m3u8")).string());
    }
    const AVStream* is = src.stream(t.input_stream);
    const AVDictionaryEntry* title = av_dict_get(is->metadata, "title", nullptr, 0);
    HlsRendition r;
    r.uri = base + ".m3u8";
    r.language = language_tag(is);
    r.name = playlist_line_name(title ? title->value : "", r.language, i);
    r.is_default = (is->disposition & AV_DISPOSITION_DEFAULT) != 0;
    r.forced = (is->disposition & AV_DISPOSITION_FORCED) != 0;
    renditions.push_back(r);
  }
  return renditions;
}

}  // namespace

AssemblyResult assemble_hls(const AssemblyInput& in, const std::string& dir, const HlsLayout& layout) {
  HlsMedia m = write_hls_media(in, dir, layout);
  AssemblyResult& result = m.result;
  const std::string playlist_path = (fs::path(dir) / layout.playlist_name).string();
  if (in.subtitles.empty()) {
    write_file_atomically(playlist_path, m.playlist);
    result.files.push_back(playlist_path);
    return result;
  }
  // With subtitles the playlist at the output path is a master playlist: the video's media playlist and
  // one WebVTT rendition per track beside it.
  const auto subtitles =
      write_hls_subtitles(in, dir, layout.stem, m.shift_us, total_duration(result), result.files);
  m.variant.uri = layout.stem + "_video.m3u8";
  write_file_atomically((fs::path(dir) / m.variant.uri).string(), m.playlist);
  result.files.push_back((fs::path(dir) / m.variant.uri).string());
  write_file_atomically(playlist_path, master_playlist({m.variant}, subtitles));
  result.files.push_back(playlist_path);
  return result;
}

namespace {

// "24" or "30000/1001", as DASH's frameRate wants it.
std::string frame_rate_text(double fps) {
  const AVRational r = av_d2q(fps, 1001000);
  return r.den == 1 ? std::to_string(r.num) : std::to_string(r.num) + "/" + std::to_string(r.den);
}

// The audio once per track, each its own fMP4 rendition: STEM_audio<k>.m3u8 over STEM_a<k>_*.m4s.
struct AudioRenditions {
  std::vector<HlsRendition> hls;
  std::vector<HlsMedia> media;
  long long peak_bandwidth = 0, average_bandwidth = 0;  // of the costliest track
  std::string codecs;
};

AudioRenditions write_audio_renditions(const AssemblyInput& in, const std::string& dir,
                                       const HlsLayout& layout, AssemblyResult& result) {
  AudioRenditions a;
  Source src(in.source);
  for (std::size_t k = 0; k < in.audio.size(); ++k) {
    HlsLayout own = layout;
    own.segment_prefix = layout.stem + "_a" + std::to_string(k) + "_";
    HlsMedia m = write_hls_media(in, dir, own, {false, static_cast<int>(k)});
    const std::string uri = layout.stem + "_audio" + std::to_string(k) + ".m3u8";
    const std::string path = (fs::path(dir) / uri).string();
    write_file_atomically(path, m.playlist);
    result.files.insert(result.files.end(), m.result.files.begin(), m.result.files.end());
    if (layout.hls_manifest) result.files.push_back(path);
    result.audio_playlists.push_back(path);
    result.audio_packets_per_track.at(k) = m.result.audio_packets;
    HlsRendition r;
    r.uri = uri;
    r.language = language_tag(src.stream(in.audio[k].input_stream));
    r.name = r.language.empty() ? "Audio " + std::to_string(k + 1) : r.language;
    r.is_default = k == 0;
    r.channels = std::to_string(m.channels);
    a.hls.push_back(r);
    if (m.variant.bandwidth > a.peak_bandwidth) {
      a.peak_bandwidth = m.variant.bandwidth;
      a.average_bandwidth = m.variant.average_bandwidth;
    }
    if (a.codecs.find(m.variant.codecs) == std::string::npos)
      a.codecs += (a.codecs.empty() ? "" : ",") + m.variant.codecs;
    a.media.push_back(std::move(m));
  }
  result.audio_packets = 0;
  for (auto c : result.audio_packets_per_track) result.audio_packets += c;
  return a;
}

std::vector<DashAdaptationSet> dash_sets(const std::vector<HlsMedia>& rungs,
                                         const std::vector<std::string>& rung_prefixes,
                                         const AudioRenditions& audio,
                                         const std::vector<HlsRendition>& subtitles,
                                         const HlsLayout& layout) {
  std::vector<DashAdaptationSet> sets(1);
  sets[0].content_type = "video";
  for (std::size_t r = 0; r < rungs.size(); ++r) {
    const HlsMedia& m = rungs[r];
    DashRepresentation rep;
    rep.id = "v" + std::to_string(r);
    rep.codecs = m.variant.codecs;
    rep.bandwidth = m.variant.bandwidth;
    rep.init = rung_prefixes[r] + "init.mp4";
    rep.media = rung_prefixes[r] + "$Number%05d$.m4s";
    rep.width = m.variant.width;
    rep.height = m.variant.height;
    rep.frame_rate = frame_rate_text(m.variant.frame_rate);
    rep.timeline = m.timeline;
    sets[0].representations.push_back(rep);
  }
  for (std::size_t k = 0; k < audio.media.size(); ++k) {
    const HlsMedia& m = audio.media[k];
    DashAdaptationSet set;
    set.content_type = "audio";
    set.language = audio.hls[k].language;
    DashRepresentation rep;
    rep.id = "a" + std::to_string(k);
    rep.codecs = m.variant.codecs;
    rep.bandwidth = m.variant.bandwidth;
    const std::string prefix = layout.stem + "_a" + std::to_string(k) + "_";
    rep.init = prefix + "init.mp4";
    rep.media = prefix + "$Number%05d$.m4s";
    rep.sample_rate = m.sample_rate;
    rep.channels = m.channels;
    rep.timeline = m.timeline;
    set.representations.push_back(rep);
    sets.push_back(set);
  }
  for (std::size_t k = 0; k < subtitles.size(); ++k) {
    DashAdaptationSet set;
    set.content_type = "text";
    set.language = subtitles[k].language;
    DashRepresentation rep;
    rep.id = "s" + std::to_string(k);
    rep.codecs = "wvtt";
    rep.bandwidth = 256;
    rep.file = fs::path(subtitles[k].uri).replace_extension(".vtt").string();
    set.representations.push_back(rep);
    sets.push_back(set);
  }
  return sets;
}

}  // namespace

AssemblyResult assemble_hls_ladder(AssemblyInput& in, const std::vector<std::vector<std::string>>& rung_files,
                                   const std::string& dir, const HlsLayout& layout) {
  AssemblyResult result;
  std::vector<HlsVariant> variants;
  std::vector<HlsMedia> rungs;
  std::vector<std::string> prefixes;
  std::int64_t shift_us = 0;
  std::vector<std::string> own_files;
  for (const auto& s : in.segments) own_files.push_back(s.path);
  // The input's tracks are not copyable (they own codec parameters): one input, its segment files swapped.
  auto use_files = [&](const std::vector<std::string>& files) {
    for (std::size_t s = 0; s < in.segments.size(); ++s) in.segments[s].path = files.at(s);
  };
  struct Restore {
    std::function<void()> f;
    ~Restore() { f(); }
  } restore{[&] { use_files(own_files); }};
  // CMAF: the audio is its own rendition, written once; MPEG-TS rungs each carry it.
  const bool separate_audio = layout.fmp4 && !in.audio.empty();
  for (std::size_t r = 0; r < rung_files.size(); ++r) {
    use_files(rung_files[r]);
    // Each rung's files are named by its height once its first segment says what that is.
    HlsLayout own = layout;
    own.segment_prefix = layout.stem + "_r" + std::to_string(r) + "_";
    MediaStreams streams;
    if (separate_audio) streams.audio = MediaStreams::kNoAudio;
    HlsMedia m = write_hls_media(in, dir, own, streams);
    m.variant.uri = layout.stem + "_" + std::to_string(m.variant.height) + "p.m3u8";
    const std::string path = (fs::path(dir) / m.variant.uri).string();
    write_file_atomically(path, m.playlist);
    if (r == 0) {
      shift_us = m.shift_us;
      result = m.result;
      result.files.clear();
    }
    result.files.insert(result.files.end(), m.result.files.begin(), m.result.files.end());
    if (layout.hls_manifest) result.files.push_back(path);
    result.rung_playlists.push_back(path);
    variants.push_back(m.variant);
    prefixes.push_back(own.segment_prefix);
    rungs.push_back(std::move(m));
  }
  AudioRenditions audio;
  if (separate_audio) {
    use_files(own_files);
    audio = write_audio_renditions(in, dir, layout, result);
    // A variant's BANDWIDTH and CODECS cover all it plays: its video and the audio group's costliest track.
    for (auto& v : variants) {
      v.bandwidth += audio.peak_bandwidth;
      v.average_bandwidth += audio.average_bandwidth;
      v.codecs += "," + audio.codecs;
    }
  }
  result.variants = variants;
  const auto subtitles = write_hls_subtitles(in, dir, layout.stem, shift_us, total_duration(result),
                                             result.files, layout.hls_manifest);
  if (layout.hls_manifest) {
    const std::string playlist_path = (fs::path(dir) / layout.playlist_name).string();
    write_file_atomically(playlist_path, master_playlist(variants, subtitles, audio.hls));
    result.files.push_back(playlist_path);
  }
  if (!layout.dash_manifest.empty()) {
    const std::string mpd = (fs::path(dir) / layout.dash_manifest).string();
    write_file_atomically(
        mpd, dash_manifest(dash_sets(rungs, prefixes, audio, subtitles, layout), total_duration(result)));
    result.files.push_back(mpd);
    result.dash_manifest = mpd;
  }
  return result;
}

}  // namespace pvt
