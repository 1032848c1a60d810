#include "output_metadata.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "error.hpp"

extern "C" {
#include <libavutil/avstring.h>
#include <libavutil/mastering_display_metadata.h>
}

namespace pvt {

namespace {

bool is_bookkeeping(const char* key) {
  static const char* const kSkip[] = {"major_brand",  "minor_version", "compatible_brands", "encoder",
                                      "DURATION",     "BPS",           "NUMBER_OF_FRAMES",  "NUMBER_OF_BYTES",
                                      "handler_name", "vendor_id"};
  for (const char* k : kSkip)
    if (av_strcasecmp(key, k) == 0) return true;
  return std::strncmp(key, "_STATISTICS", 11) == 0 || std::strncmp(key, "DURATION-", 9) == 0;
}

void copy_tags(const AVDictionary* in, AVDictionary** out) {
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(in, "", e, AV_DICT_IGNORE_SUFFIX)))
    if (!is_bookkeeping(e->key)) av_dict_set(out, e->key, e->value, 0);
}

// Parses the x265 syntax back into FFmpeg's struct (the probe may have found it only in the SEI).
bool parse_master_display(const std::string& text, AVMasteringDisplayMetadata& m) {
  long long g[2], b[2], r[2], wp[2], l[2];
  if (std::sscanf(text.c_str(), "G(%lld,%lld)B(%lld,%lld)R(%lld,%lld)WP(%lld,%lld)L(%lld,%lld)", &g[0], &g[1],
                  &b[0], &b[1], &r[0], &r[1], &wp[0], &wp[1], &l[0], &l[1]) != 10)
    return false;
  auto q = [](long long v, int den) { return AVRational{static_cast<int>(v), den}; };
  m.display_primaries[0][0] = q(r[0], 50000);
  m.display_primaries[0][1] = q(r[1], 50000);
  m.display_primaries[1][0] = q(g[0], 50000);
  m.display_primaries[1][1] = q(g[1], 50000);
  m.display_primaries[2][0] = q(b[0], 50000);
  m.display_primaries[2][1] = q(b[1], 50000);
  m.white_point[0] = q(wp[0], 50000);
  m.white_point[1] = q(wp[1], 50000);
  m.max_luminance = q(l[0], 10000);
  m.min_luminance = q(l[1], 10000);
  m.has_primaries = m.has_luminance = 1;
  return true;
}

template <typename T>
T* new_side_data(AVStream* st, AVPacketSideDataType type) {
  auto* p = reinterpret_cast<T*>(av_stream_new_side_data(st, type, sizeof(T)));
  if (!p) throw std::bad_alloc();
  std::memset(static_cast<void*>(p), 0, sizeof(T));
  return p;
}

}  // namespace

void copy_global_metadata(const AVFormatContext* in, AVFormatContext* out) {
  copy_tags(in->metadata, &out->metadata);
}

void copy_chapters(const AVFormatContext* in, AVFormatContext* out, std::int64_t origin_us) {
  if (in->nb_chapters == 0) return;
  out->chapters = static_cast<AVChapter**>(av_calloc(in->nb_chapters, sizeof(AVChapter*)));
  if (!out->chapters) throw std::bad_alloc();
  for (unsigned i = 0; i < in->nb_chapters; ++i) {
    const AVChapter* c = in->chapters[i];
    auto* o = static_cast<AVChapter*>(av_mallocz(sizeof(AVChapter)));
    if (!o) throw std::bad_alloc();
    out->chapters[out->nb_chapters++] = o;  // owned by `out` from here (avformat_free_context frees it)
    o->id = c->id;
    o->time_base = c->time_base;
    const std::int64_t shift = av_rescale_q(origin_us, AV_TIME_BASE_Q, c->time_base);
    o->start = std::max<std::int64_t>(0, c->start - shift);
    o->end = std::max<std::int64_t>(o->start, c->end - shift);
    av_dict_copy(&o->metadata, c->metadata, 0);
  }
}

void copy_stream_tags(const AVStream* in, AVStream* out, bool title_as_handler) {
  copy_tags(in->metadata, &out->metadata);
  // MP4 has no track title; its handler name is what players (and ffprobe) show as the track's name.
  if (const AVDictionaryEntry* t = av_dict_get(in->metadata, "title", nullptr, 0); t && title_as_handler)
    av_dict_set(&out->metadata, "handler_name", t->value, 0);
  out->disposition = in->disposition & ~AV_DISPOSITION_ATTACHED_PIC;
}

void set_video_side_data(const AVStream* in, AVStream* out, const VideoSideData& want) {
  if (want.display_matrix) {
    std::size_t size = 0;
    if (const uint8_t* m = av_stream_get_side_data(in, AV_PKT_DATA_DISPLAYMATRIX, &size)) {
      uint8_t* o = av_stream_new_side_data(out, AV_PKT_DATA_DISPLAYMATRIX, size);
      if (!o) throw std::bad_alloc();
      std::memcpy(o, m, size);
    }
  }
  if (!want.master_display.empty()) {
    AVMasteringDisplayMetadata parsed{};
    if (parse_master_display(want.master_display, parsed))
      *new_side_data<AVMasteringDisplayMetadata>(out, AV_PKT_DATA_MASTERING_DISPLAY_METADATA) = parsed;
  }
  if (want.max_cll >= 0) {
    auto* c = new_side_data<AVContentLightMetadata>(out, AV_PKT_DATA_CONTENT_LIGHT_LEVEL);
    c->MaxCLL = static_cast<unsigned>(want.max_cll);
    c->MaxFALL = static_cast<unsigned>(want.max_fall);
  }
}

void copy_attachment(const AVStream* in, AVFormatContext* out) {
  AVStream* st = avformat_new_stream(out, nullptr);
  if (!st) throw std::bad_alloc();
  check_av(avcodec_parameters_copy(st->codecpar, in->codecpar), ErrorCode::kInternal, "attachment");
  av_dict_copy(&st->metadata, in->metadata, 0);
  st->disposition = in->disposition;
}

}  // namespace pvt
