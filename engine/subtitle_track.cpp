#include "subtitle_track.hpp"

#include <algorithm>

#include "cancellation.hpp"
#include "error.hpp"

namespace pvt {

namespace {

struct SubtitleDeleter {
  void operator()(AVSubtitle* s) const {
    avsubtitle_free(s);
    delete s;
  }
};

av::InputFormat open_stream(const std::string& path, int stream) {
  AVFormatContext* raw = nullptr;
  check_av(avformat_open_input(&raw, path.c_str(), nullptr, nullptr), ErrorCode::kInput, path);
  av::InputFormat fmt(raw);
  check_av(avformat_find_stream_info(fmt.get(), nullptr), ErrorCode::kInput, path);
  if (stream < 0 || stream >= static_cast<int>(fmt->nb_streams))
    throw Error(ErrorCode::kInput, path + ": no stream " + std::to_string(stream));
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (static_cast<int>(i) != stream) fmt->streams[i]->discard = AVDISCARD_ALL;
  return fmt;
}

SubtitleTrack copy_packets(AVFormatContext* fmt, int stream, const std::atomic<bool>* cancel) {
  SubtitleTrack t;
  const AVStream* st = fmt->streams[stream];
  t.par.reset(avcodec_parameters_alloc());
  if (!t.par) throw std::bad_alloc();
  check_av(avcodec_parameters_copy(t.par.get(), st->codecpar), ErrorCode::kInternal, "subtitle parameters");
  t.par->codec_tag = 0;
  t.codec = avcodec_get_name(st->codecpar->codec_id);
  t.time_base = st->time_base;
  av::Packet pkt = av::make_packet();
  while (av_read_frame(fmt, pkt.get()) >= 0) {
    if (stop_requested(cancel)) throw Error(ErrorCode::kInterrupted, "subtitles cancelled");
    if (pkt->stream_index == stream && (pkt->pts != AV_NOPTS_VALUE || pkt->dts != AV_NOPTS_VALUE)) {
      if (pkt->pts == AV_NOPTS_VALUE) pkt->pts = pkt->dts;
      pkt->dts = pkt->pts;
      pkt->pos = -1;
      t.packets.push_back(std::move(pkt));
      pkt = av::make_packet();
    } else {
      av_packet_unref(pkt.get());
    }
  }
  return t;
}

// Decode every event, re-encode it in the output's text format (what FFmpeg's own subtitle path does).
SubtitleTrack convert_packets(AVFormatContext* fmt, int stream, const std::string& output_codec,
                              const std::string& path, const std::atomic<bool>* cancel) {
  const AVStream* st = fmt->streams[stream];
  const std::string what = path + ": subtitle stream " + std::to_string(stream);
  const AVCodec* dc = avcodec_find_decoder(st->codecpar->codec_id);
  const AVCodec* ec = avcodec_find_encoder_by_name(output_codec.c_str());
  if (!dc || !ec)
    throw Error(ErrorCode::kInput, what + ": cannot convert " + avcodec_get_name(st->codecpar->codec_id) +
                                       " to " + output_codec);
  av::CodecContext dec(avcodec_alloc_context3(dc));
  if (!dec) throw std::bad_alloc();
  check_av(avcodec_parameters_to_context(dec.get(), st->codecpar), ErrorCode::kInput, what);
  dec->pkt_timebase = st->time_base;
  check_av(avcodec_open2(dec.get(), dc, nullptr), ErrorCode::kInput, what + ": opening the decoder");

  av::CodecContext enc(avcodec_alloc_context3(ec));
  if (!enc) throw std::bad_alloc();
  enc->time_base = {1, 1000};
  enc->width = dec->width;
  enc->height = dec->height;
  if (dec->subtitle_header && dec->subtitle_header_size > 0) {
    // The events refer to the decoder's ASS styles: the encoder must know them.
    enc->subtitle_header = static_cast<uint8_t*>(av_mallocz(dec->subtitle_header_size + 1));
    if (!enc->subtitle_header) throw std::bad_alloc();
    std::copy_n(dec->subtitle_header, dec->subtitle_header_size, enc->subtitle_header);
    enc->subtitle_header_size = dec->subtitle_header_size;
  }
  check_av(avcodec_open2(enc.get(), ec, nullptr), ErrorCode::kInput,
           what + ": opening the " + output_codec + " encoder");

  SubtitleTrack t;
  t.codec = output_codec;
  t.time_base = {1, 1000};
  t.par.reset(avcodec_parameters_alloc());
  if (!t.par) throw std::bad_alloc();
  check_av(avcodec_parameters_from_context(t.par.get(), enc.get()), ErrorCode::kInternal,
           "subtitle parameters");

  std::vector<uint8_t> buf(1 << 20);
  av::Packet pkt = av::make_packet();
  while (av_read_frame(fmt, pkt.get()) >= 0) {
    if (stop_requested(cancel)) throw Error(ErrorCode::kInterrupted, "subtitles cancelled");
    // An event without any timestamp has no place on the timeline (copy_packets drops it too).
    if (pkt->stream_index != stream || (pkt->pts == AV_NOPTS_VALUE && pkt->dts == AV_NOPTS_VALUE)) {
      av_packet_unref(pkt.get());
      continue;
    }
    std::unique_ptr<AVSubtitle, SubtitleDeleter> sub(new AVSubtitle{});
    int got = 0;
    const int ret = avcodec_decode_subtitle2(dec.get(), sub.get(), &got, pkt.get());
    const std::int64_t pkt_pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    const std::int64_t pkt_duration = pkt->duration;
    av_packet_unref(pkt.get());
    if (ret < 0 || !got || sub->num_rects == 0) continue;  // a damaged event is lost, not the track
    // Timestamps in ms from the packet (the decoder's own are relative to it).
    const std::int64_t start_ms = av_rescale_q(pkt_pts, st->time_base, {1, 1000}) + sub->start_display_time;
    std::int64_t dur_ms = sub->end_display_time > sub->start_display_time
                              ? sub->end_display_time - sub->start_display_time
                              : av_rescale_q(pkt_duration, st->time_base, {1, 1000});
    if (dur_ms <= 0) dur_ms = 1;
    sub->pts = av_rescale_q(start_ms, {1, 1000}, AV_TIME_BASE_Q);
    sub->start_display_time = 0;
    sub->end_display_time = static_cast<uint32_t>(dur_ms);
    const int size = avcodec_encode_subtitle(enc.get(), buf.data(), static_cast<int>(buf.size()), sub.get());
    if (size <= 0) continue;
    av::Packet out = av::make_packet();
    check_av(av_new_packet(out.get(), size), ErrorCode::kInternal, "subtitle packet");
    std::copy_n(buf.data(), size, out->data);
    out->pts = out->dts = start_ms;
    out->duration = dur_ms;
    out->flags |= AV_PKT_FLAG_KEY;
    t.packets.push_back(std::move(out));
  }
  std::stable_sort(t.packets.begin(), t.packets.end(),
                   [](const av::Packet& a, const av::Packet& b) { return a->pts < b->pts; });
  return t;
}

}  // namespace

SubtitleTrack prepare_subtitles(const std::string& path, int stream, const std::string& output_codec,
                                const std::atomic<bool>* cancel) {
  av::InputFormat fmt = open_stream(path, stream);
  SubtitleTrack t = output_codec == avcodec_get_name(fmt->streams[stream]->codecpar->codec_id)
                        ? copy_packets(fmt.get(), stream, cancel)
                        : convert_packets(fmt.get(), stream, output_codec, path, cancel);
  t.input_stream = stream;
  return t;
}

}  // namespace pvt
