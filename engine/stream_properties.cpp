#include "stream_properties.hpp"

#include <cmath>
#include <cstdio>

#include "av_handles.hpp"

extern "C" {
#include <libavutil/display.h>
#include <libavutil/mastering_display_metadata.h>
#include <libavutil/pixdesc.h>
}

namespace pvt {

namespace {

std::string tag(const AVDictionary* d, const char* key) {
  const AVDictionaryEntry* e = av_dict_get(d, key, nullptr, 0);
  return e && e->value ? e->value : "";
}

bool is_bitmap_subtitle(AVCodecID id) {
  return id == AV_CODEC_ID_HDMV_PGS_SUBTITLE || id == AV_CODEC_ID_DVB_SUBTITLE ||
         id == AV_CODEC_ID_DVD_SUBTITLE || id == AV_CODEC_ID_XSUB;
}

// The x265/x264 syntax: G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min); FFmpeg orders primaries R, G, B.
std::string master_display_text(const AVMasteringDisplayMetadata& m) {
  auto q = [](AVRational r, int scale) { return static_cast<long long>(std::llround(av_q2d(r) * scale)); };
  const AVRational* g = m.display_primaries[1];
  const AVRational* b = m.display_primaries[2];
  const AVRational* r = m.display_primaries[0];
  char text[160];
  std::snprintf(text, sizeof text, "G(%lld,%lld)B(%lld,%lld)R(%lld,%lld)WP(%lld,%lld)L(%lld,%lld)",
                q(g[0], 50000), q(g[1], 50000), q(b[0], 50000), q(b[1], 50000), q(r[0], 50000),
                q(r[1], 50000), q(m.white_point[0], 50000), q(m.white_point[1], 50000),
                q(m.max_luminance, 10000), q(m.min_luminance, 10000));
  return text;
}

void add_mastering(const AVMasteringDisplayMetadata* m, VideoDisplay& d) {
  if (!m || !m->has_primaries || d.has_mastering) return;
  d.has_mastering = true;
  d.master_display = master_display_text(*m);
}

void add_light_level(const AVContentLightMetadata* c, VideoDisplay& d) {
  if (!c || d.has_light_level) return;
  d.has_light_level = true;
  d.max_cll = static_cast<int>(c->MaxCLL);
  d.max_fall = static_cast<int>(c->MaxFALL);
}

}  // namespace

int VideoDisplay::displayed_width(int w, int h) const {
  double width = w;
  if (sample_aspect_ratio.num > 0 && sample_aspect_ratio.den > 0) width = w * av_q2d(sample_aspect_ratio);
  const int sw = static_cast<int>(std::lround(width));
  return rotation % 180 ? h : sw;
}

int VideoDisplay::displayed_height(int w, int h) const {
  double width = w;
  if (sample_aspect_ratio.num > 0 && sample_aspect_ratio.den > 0) width = w * av_q2d(sample_aspect_ratio);
  return rotation % 180 ? static_cast<int>(std::lround(width)) : h;
}

void read_stream_tags(const AVStream* st, StreamSummary& s) {
  s.language = tag(st->metadata, "language");
  if (s.language == "und") s.language.clear();
  s.title = tag(st->metadata, "title");
  s.disposition = st->disposition;
  s.cover_art = (st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0;
  const AVCodecDescriptor* cd = avcodec_descriptor_get(st->codecpar->codec_id);
  if (st->codecpar->codec_type == AVMEDIA_TYPE_SUBTITLE) {
    s.bitmap_subtitle =
        is_bitmap_subtitle(st->codecpar->codec_id) || (cd && (cd->props & AV_CODEC_PROP_BITMAP_SUB));
    s.text_subtitle = !s.bitmap_subtitle && cd && (cd->props & AV_CODEC_PROP_TEXT_SUB);
  }
  s.channels = st->codecpar->ch_layout.nb_channels;
  s.start_us =
      st->start_time != AV_NOPTS_VALUE ? av_rescale_q(st->start_time, st->time_base, AV_TIME_BASE_Q) : 0;
}

VideoDisplay read_video_display(const AVStream* st) {
  VideoDisplay d;
  const AVCodecParameters* par = st->codecpar;
  if (const auto* m =
          reinterpret_cast<const int32_t*>(av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr))) {
    // av_display_rotation_get is counter-clockwise; players turn the picture clockwise by its negation.
    const double ccw = av_display_rotation_get(m);
    if (!std::isnan(ccw)) {
      d.has_display_matrix = true;
      int cw = static_cast<int>(std::lround(-ccw / 90.0)) * 90;
      d.rotation = ((cw % 360) + 360) % 360;
      // A mirrored matrix has a negative determinant.
      const double det = static_cast<double>(m[0]) * m[4] - static_cast<double>(m[1]) * m[3];
      d.flipped = det < 0;
    }
  }
  d.sample_aspect_ratio =
      st->sample_aspect_ratio.num > 0 ? st->sample_aspect_ratio : par->sample_aspect_ratio;
  if (d.sample_aspect_ratio.num == d.sample_aspect_ratio.den) d.sample_aspect_ratio = {0, 1};
  d.color_range = par->color_range;
  d.color_primaries = par->color_primaries;
  d.color_trc = par->color_trc;
  d.colorspace = par->color_space;
  d.chroma_location = par->chroma_location;
  if (const AVPixFmtDescriptor* pd = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(par->format))) {
    d.chroma_w_shift = pd->log2_chroma_w;
    d.chroma_h_shift = pd->log2_chroma_h;
    if (std::string(pd->name).rfind("yuvj", 0) == 0) d.color_range = AVCOL_RANGE_JPEG;
  }
  add_mastering(reinterpret_cast<const AVMasteringDisplayMetadata*>(
                    av_stream_get_side_data(st, AV_PKT_DATA_MASTERING_DISPLAY_METADATA, nullptr)),
                d);
  add_light_level(reinterpret_cast<const AVContentLightMetadata*>(
                      av_stream_get_side_data(st, AV_PKT_DATA_CONTENT_LIGHT_LEVEL, nullptr)),
                  d);
  d.dolby_vision = av_stream_get_side_data(st, AV_PKT_DATA_DOVI_CONF, nullptr) != nullptr;
  return d;
}

void read_hdr_side_data(const AVFrame* frame, VideoDisplay& d) {
  if (const AVFrameSideData* sd = av_frame_get_side_data(frame, AV_FRAME_DATA_MASTERING_DISPLAY_METADATA))
    add_mastering(reinterpret_cast<const AVMasteringDisplayMetadata*>(sd->data), d);
  if (const AVFrameSideData* sd = av_frame_get_side_data(frame, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL))
    add_light_level(reinterpret_cast<const AVContentLightMetadata*>(sd->data), d);
  if (av_frame_get_side_data(frame, AV_FRAME_DATA_DOVI_METADATA) ||
      av_frame_get_side_data(frame, AV_FRAME_DATA_DOVI_RPU_BUFFER))
    d.dolby_vision = true;
  if (d.color_trc == AVCOL_TRC_UNSPECIFIED) d.color_trc = frame->color_trc;
  if (d.color_primaries == AVCOL_PRI_UNSPECIFIED) d.color_primaries = frame->color_primaries;
  if (d.colorspace == AVCOL_SPC_UNSPECIFIED) d.colorspace = frame->colorspace;
  if (d.color_range == AVCOL_RANGE_UNSPECIFIED) d.color_range = frame->color_range;
}

void read_frame_hdr_metadata(const std::string& path, int stream, VideoDisplay& display) {
  AVFormatContext* raw = nullptr;
  if (avformat_open_input(&raw, path.c_str(), nullptr, nullptr) < 0) return;
  av::InputFormat owner(raw);
  AVFormatContext* fmt = owner.get();
  if (avformat_find_stream_info(fmt, nullptr) < 0 || stream >= static_cast<int>(fmt->nb_streams)) return;
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    if (static_cast<int>(i) != stream) fmt->streams[i]->discard = AVDISCARD_ALL;
  const AVStream* st = fmt->streams[stream];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec) return;
  av::CodecContext dec(avcodec_alloc_context3(codec));
  if (!dec || avcodec_parameters_to_context(dec.get(), st->codecpar) < 0) return;
  dec->pkt_timebase = st->time_base;
  if (avcodec_open2(dec.get(), codec, nullptr) < 0) return;
  av::Packet pkt = av::make_packet();
  av::Frame frame = av::make_frame();
  // A damaged start may need a few packets; a stream that gives nothing in 64 has nothing to tell here.
  for (int read = 0; read < 64 && av_read_frame(fmt, pkt.get()) >= 0;) {
    const bool ours = pkt->stream_index == stream;
    if (ours) {
      ++read;
      avcodec_send_packet(dec.get(), pkt.get());
    }
    av_packet_unref(pkt.get());
    if (ours && avcodec_receive_frame(dec.get(), frame.get()) >= 0) {
      read_hdr_side_data(frame.get(), display);
      return;
    }
  }
  avcodec_send_packet(dec.get(), nullptr);
  if (avcodec_receive_frame(dec.get(), frame.get()) >= 0) read_hdr_side_data(frame.get(), display);
}

}  // namespace pvt
