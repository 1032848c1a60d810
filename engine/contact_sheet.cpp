#include "contact_sheet.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <thread>

#include "av_handles.hpp"
#include "bitmap_font.hpp"
#include "error.hpp"
#include "frame_reader.hpp"
#include "still_image.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace pvt {

namespace {

constexpr int kMaxTilesCap = 64;  // bounds the sheet whatever the caller asks: 64 tiles of 640x1280 at most
constexpr int kMaxTileHeight = 1280;  // a very tall display aspect ratio still gives a bounded tile
constexpr int kMinTileHeight = 16;
constexpr std::uint8_t kBlack = 0, kNeutral = 128;  // full-range Y, and chroma without colour

struct VideoStream {
  int index = -1;
  AVRational time_base{1, 1};
  std::int64_t start_pts = 0;
  int width = 0, height = 0;
  AVRational sar{1, 1};
};

struct Layout {
  int tile_w = 0, tile_h = 0, columns = 0, rows = 0;
};

int even(int v) {
  return v & ~1;
}

// What the sheet needs to know of the video before decoding: FrameReader wants the stream index.
VideoStream find_video_stream(const std::string& path) {
  AVFormatContext* raw = nullptr;
  const int ret = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (ret < 0)
    throw Error(ErrorCode::kInput, path + ": not a readable media file (" + av_error_text(ret) + ")");
  av::InputFormat fmt(raw);
  check_av(avformat_find_stream_info(fmt.get(), nullptr), ErrorCode::kInput, path + ": reading stream info");
  VideoStream vs;
  vs.index = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (vs.index < 0) throw Error(ErrorCode::kInput, path + ": no video stream");
  AVStream* st = fmt->streams[vs.index];
  vs.time_base = st->time_base;
  vs.start_pts = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  vs.width = st->codecpar->width;
  vs.height = st->codecpar->height;
  if (vs.width <= 0 || vs.height <= 0)
    throw Error(ErrorCode::kInput, path + ": video stream without a picture size");
  vs.sar = av_guess_sample_aspect_ratio(fmt.get(), st, nullptr);
  if (vs.sar.num <= 0 || vs.sar.den <= 0) vs.sar = {1, 1};
  return vs;
}

// At most max_tiles of the times, evenly spread over the list with the first and the last kept.
std::vector<double> thin_times(const std::vector<double>& times, int max_tiles) {
  const int m = std::clamp(max_tiles, 1, kMaxTilesCap);
  const int n = static_cast<int>(times.size());
  if (n <= m) return times;
  if (m == 1) return {times.front()};
  std::vector<double> kept;
  // The step (n-1)/(m-1) exceeds 1 here, so the rounded indices never repeat.
  for (int i = 0; i < m; ++i) kept.push_back(times[std::lround(i * (n - 1.0) / (m - 1))]);
  return kept;
}

Layout plan_layout(const VideoStream& vs, int tiles, const ContactSheetOptions& o) {
  Layout l;
  l.tile_w = even(std::clamp(o.tile_width, 64, 640));
  const double display_aspect = vs.width * av_q2d(vs.sar) / vs.height;
  const long tile_h = std::lround(l.tile_w / display_aspect);
  l.tile_h = even(static_cast<int>(std::clamp<long>(tile_h, kMinTileHeight, kMaxTileHeight)));
  l.columns = std::min(std::clamp(o.columns, 1, 8), tiles);
  l.rows = (tiles + l.columns - 1) / l.columns;
  return l;
}

av::Frame make_picture(AVPixelFormat format, int w, int h) {
  av::Frame f = av::make_frame();
  f->format = format;
  f->width = w;
  f->height = h;
  f->color_range = AVCOL_RANGE_JPEG;
  check_av(av_frame_get_buffer(f.get(), 0), ErrorCode::kInternal, "frame allocation");
  return f;
}

// Fills a 4:2:0 picture (x, y, w, h even) with one Y value and neutral chroma.
void fill_yuv420(AVFrame& f, int x, int y, int w, int h, std::uint8_t luma) {
  const std::array<std::uint8_t, 1> yv{luma}, cv{kNeutral};
  font::fill_rect({f.data[0], f.linesize[0], f.width, f.height}, x, y, w, h, yv);
  for (int p = 1; p <= 2; ++p)
    font::fill_rect({f.data[p], f.linesize[p], f.width / 2, f.height / 2}, x / 2, y / 2, w / 2, h / 2, cv);
}

// Scales decoded frames of any size and format to one tile: 4:2:0, full range (what JPEG holds).
class TileScaler {
 public:
  TileScaler(int w, int h) : tile_(make_picture(AV_PIX_FMT_YUV420P, w, h)) {}

  AVFrame& blank() {
    fill_yuv420(*tile_, 0, 0, tile_->width, tile_->height, kBlack);
    return *tile_;
  }

  AVFrame& scale(const AVFrame& in) {
    const auto src = static_cast<AVPixelFormat>(in.format);
    const bool full = in.color_range == AVCOL_RANGE_JPEG || av::plain_format(src) != src;
    sws_.reset(sws_getCachedContext(sws_.release(), in.width, in.height, av::plain_format(src), tile_->width,
                                    tile_->height, AV_PIX_FMT_YUV420P, SWS_AREA, nullptr, nullptr, nullptr));
    if (!sws_) {
      const char* name = av_get_pix_fmt_name(src);
      throw Error(ErrorCode::kInternal, std::string("cannot scale ") + (name ? name : "unknown") + " frames");
    }
    const int* coefficients = sws_getCoefficients(SWS_CS_DEFAULT);
    sws_setColorspaceDetails(sws_.get(), coefficients, full ? 1 : 0, coefficients, 1, 0, 1 << 16, 1 << 16);
    sws_scale(sws_.get(), in.data, in.linesize, 0, in.height, tile_->data, tile_->linesize);
    return *tile_;
  }

 private:
  av::Scaler sws_;
  av::Frame tile_;
};

// "1:23.4" (minutes:seconds.tenths), "1:02:03.4" from an hour on.
std::string time_label(double t) {
  const long long tenths = std::llround(std::max(0.0, t) * 10);
  const long long h = tenths / 36000, m = tenths / 600 % 60, s = tenths / 10 % 60, d = tenths % 10;
  char b[48];
  if (h > 0)
    std::snprintf(b, sizeof b, "%lld:%02lld:%02lld.%lld", h, m, s, d);
  else
    std::snprintf(b, sizeof b, "%lld:%02lld.%lld", m, s, d);
  return b;
}

// White digits on a dark box in the tile's top left corner, into the Y plane (the box's chroma made
// neutral so the text stays grey whatever the picture's colour). The bitmap font is hand-written because
// FFmpeg's drawtext filter needs a font file and fontconfig.
void draw_label(AVFrame& tile, const std::string& text) {
  int scale = 2;
  while (scale > 1 && font::text_width(text, scale) + 2 * scale > tile.width) --scale;
  const int pad = scale;
  // Even box corners and sides: the chroma of a 4:2:0 picture covers 2x2 pixels.
  const int box_w = (font::text_width(text, scale) + 2 * pad + 1) & ~1;
  const int box_h = (font::text_height(scale) + 2 * pad + 1) & ~1;
  fill_yuv420(tile, 0, 0, std::min(box_w, tile.width), std::min(box_h, tile.height), 16);
  const std::array<std::uint8_t, 1> white{255};
  font::draw_text({tile.data[0], tile.linesize[0], tile.width, tile.height}, pad, pad, text, scale, white);
}

void copy_tile(const AVFrame& tile, AVFrame& sheet, int x, int y) {
  for (int p = 0; p < 3; ++p) {
    const int shift = p == 0 ? 0 : 1;
    const int w = tile.width >> shift, h = tile.height >> shift;
    for (int row = 0; row < h; ++row)
      std::memcpy(
          sheet.data[p] + static_cast<std::ptrdiff_t>((y >> shift) + row) * sheet.linesize[p] + (x >> shift),
          tile.data[p] + static_cast<std::ptrdiff_t>(row) * tile.linesize[p], w);
  }
}

std::vector<double> checked_times(const std::vector<double>& times) {
  if (times.empty()) throw Error(ErrorCode::kUsage, "contact sheet: no times given");
  for (double t : times)
    if (!std::isfinite(t)) throw Error(ErrorCode::kUsage, "contact sheet: a time is not a finite number");
  return times;
}

}  // namespace

ContactSheet make_contact_sheet(const std::string& path, const std::vector<double>& times_s,
                                const ContactSheetOptions& options) {
  const std::vector<double> times = thin_times(checked_times(times_s), options.max_tiles);
  const VideoStream vs = find_video_stream(path);
  const Layout l = plan_layout(vs, static_cast<int>(times.size()), options);

  FrameReader::Options ro;
  ro.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  FrameReader reader(path, vs.index, ro);
  TileScaler scaler(l.tile_w, l.tile_h);
  av::Frame sheet = make_picture(AV_PIX_FMT_YUVJ420P, l.columns * l.tile_w, l.rows * l.tile_h);
  fill_yuv420(*sheet, 0, 0, sheet->width, sheet->height, kBlack);

  ContactSheet out;
  for (std::size_t i = 0; i < times.size(); ++i) {
    const double t = std::max(0.0, times[i]);
    const std::int64_t pts = vs.start_pts + std::llround(t / av_q2d(vs.time_base));
    // The reader seeks back from the time asked for to a keyframe, and to the start of the file when the
    // demuxer lands too late: no keyframe index is needed.
    reader.start_at(pts, {SeekPoint{pts, AV_NOPTS_VALUE}});
    const AVFrame* frame = reader.next();
    const double shown = frame ? static_cast<double>(frame->pts - vs.start_pts) * av_q2d(vs.time_base) : t;
    AVFrame& tile = frame ? scaler.scale(*frame) : scaler.blank();
    draw_label(tile, time_label(shown));
    const int col = static_cast<int>(i) % l.columns, row = static_cast<int>(i) / l.columns;
    copy_tile(tile, *sheet, col * l.tile_w, row * l.tile_h);
    out.tile_times_s.push_back(shown);
  }
  out.width = sheet->width;
  out.height = sheet->height;
  out.jpeg = encode_still(AV_CODEC_ID_MJPEG, *sheet, std::clamp(options.jpeg_quality_q, 2, 31));
  return out;
}

}  // namespace pvt
