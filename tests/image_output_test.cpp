// The engine's images: the contact sheet (JPEG) of a generated two-scene clip and the PNG timeline of a
// made-up summary, decoded back with libavcodec's own decoders to check sizes, layout and content.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>

#include "av_handles.hpp"
#include "contact_sheet.hpp"
#include "error.hpp"
#include "test_support.hpp"
#include "timeline_png.hpp"

namespace pvt {
namespace {

// 3 s, 320x180 at 25 fps: 1.5 s of dark blue, then 1.5 s of light yellow (a keyframe each second).
// sar: the sample aspect ratio to store ("2" for a 160x180 picture shown as 320x180). Cached per process.
std::string two_scene_clip(const std::string& size = "320x180", const std::string& sar = "1") {
  static std::mutex m;
  static std::map<std::string, std::string> cache;
  static test::TempDir dir;
  std::lock_guard lock(m);
  const std::string key = size + "-" + sar;
  if (cache.count(key)) return cache[key];
  const std::string path = dir / ("two_scenes-" + key + ".mp4");
  const auto r = test::run({"ffmpeg",
                            "-v",
                            "error",
                            "-y",
                            "-f",
                            "lavfi",
                            "-i",
                            "color=c=0x202070:s=" + size + ":r=25:d=1.5",
                            "-f",
                            "lavfi",
                            "-i",
                            "color=c=0xe0e060:s=" + size + ":r=25:d=1.5",
                            "-filter_complex",
                            "[0:v][1:v]concat=n=2:v=1,setsar=" + sar + ",format=yuv420p[v]",
                            "-map",
                            "[v]",
                            "-c:v",
                            "libx264",
                            "-preset",
                            "ultrafast",
                            "-g",
                            "25",
                            path});
  if (r.exit_code != 0) throw std::runtime_error("cannot generate the two-scene clip: " + r.err);
  cache[key] = path;
  return path;
}

// Decodes one image file (mjpeg or png) with libavcodec.
av::Frame decode_image(AVCodecID id, const std::vector<std::uint8_t>& bytes) {
  const AVCodec* codec = avcodec_find_decoder(id);
  if (!codec) throw std::runtime_error("no decoder");
  av::CodecContext dec(avcodec_alloc_context3(codec));
  if (!dec) throw std::bad_alloc();
  check_av(avcodec_open2(dec.get(), codec, nullptr), ErrorCode::kInternal, "opening the decoder");
  av::Packet pkt = av::make_packet();
  check_av(av_new_packet(pkt.get(), static_cast<int>(bytes.size())), ErrorCode::kInternal, "packet");
  std::copy(bytes.begin(), bytes.end(), pkt->data);
  check_av(avcodec_send_packet(dec.get(), pkt.get()), ErrorCode::kInternal, "decoding");
  check_av(avcodec_send_packet(dec.get(), nullptr), ErrorCode::kInternal, "decoding");
  av::Frame f = av::make_frame();
  check_av(avcodec_receive_frame(dec.get(), f.get()), ErrorCode::kInternal, "decoding");
  return f;
}

double mean_luma(const AVFrame& f, int x, int y, int w, int h) {
  double sum = 0;
  for (int r = y; r < y + h; ++r)
    for (int c = x; c < x + w; ++c) sum += f.data[0][r * f.linesize[0] + c];
  return sum / (w * h);
}

int max_luma(const AVFrame& f, int x, int y, int w, int h) {
  int m = 0;
  for (int r = y; r < y + h; ++r)
    for (int c = x; c < x + w; ++c) m = std::max<int>(m, f.data[0][r * f.linesize[0] + c]);
  return m;
}

TEST(ImageOutputContactSheet, DecodesToTheReportedSizeWithOneTilePerTime) {
  ContactSheetOptions o;
  o.tile_width = 160;
  o.columns = 2;
  const ContactSheet s = make_contact_sheet(two_scene_clip(), {0.0, 1.6, 2.5}, o);
  // 3 tiles in 2 columns: 2 rows of 160x90 tiles (320x180 keeps 16:9).
  EXPECT_EQ(s.width, 320);
  EXPECT_EQ(s.height, 180);
  ASSERT_EQ(s.tile_times_s.size(), 3u);
  EXPECT_NEAR(s.tile_times_s[0], 0.0, 1e-6);
  EXPECT_NEAR(s.tile_times_s[1], 1.6, 1e-6);   // on a frame: 40 ms per frame
  EXPECT_NEAR(s.tile_times_s[2], 2.52, 1e-6);  // the first frame at or after 2.5 s
  const av::Frame f = decode_image(AV_CODEC_ID_MJPEG, s.jpeg);
  EXPECT_EQ(f->width, s.width);
  EXPECT_EQ(f->height, s.height);
  EXPECT_EQ(f->format, AV_PIX_FMT_YUVJ420P);
}

TEST(ImageOutputContactSheet, TilesShowTheirScenesAndTheirTimes) {
  ContactSheetOptions o;
  o.tile_width = 160;
  o.columns = 2;
  const ContactSheet s = make_contact_sheet(two_scene_clip(), {0.0, 2.0}, o);
  ASSERT_EQ(s.width, 320);
  ASSERT_EQ(s.height, 90);
  const av::Frame f = decode_image(AV_CODEC_ID_MJPEG, s.jpeg);
  // Away from the label (top left): the dark blue scene, then the light yellow one.
  const double dark = mean_luma(*f, 60, 40, 90, 45), light = mean_luma(*f, 160 + 60, 40, 90, 45);
  EXPECT_LT(dark, 70);
  EXPECT_GT(light, 170);
  // The label: white digits in the dark tile's corner, where the picture itself has nothing bright.
  EXPECT_GT(max_luma(*f, 0, 0, 80, 20), 200);
  EXPECT_LT(max_luma(*f, 0, 30, 160, 60), 120);
}

TEST(ImageOutputContactSheet, KeepsTheDisplayAspectRatioOfNonSquarePixels) {
  ContactSheetOptions o;
  o.tile_width = 160;
  // 160x180 stored, pixels twice as wide as high: shown as 320x180, so a 160 wide tile is 90 high.
  const ContactSheet s = make_contact_sheet(two_scene_clip("160x180", "2"), {0.5}, o);
  EXPECT_EQ(s.width, 160);
  EXPECT_EQ(s.height, 90);
  const av::Frame f = decode_image(AV_CODEC_ID_MJPEG, s.jpeg);
  EXPECT_EQ(f->height, 90);
}

TEST(ImageOutputContactSheet, ThinsTimesToMaxTilesKeepingFirstAndLast) {
  std::vector<double> times;
  for (int i = 0; i < 10; ++i) times.push_back(0.2 * i + 0.4);  // 0.4 .. 2.2 s, each on a frame
  ContactSheetOptions o;
  o.tile_width = 64;
  o.columns = 8;
  o.max_tiles = 4;
  const ContactSheet s = make_contact_sheet(two_scene_clip(), times, o);
  ASSERT_EQ(s.tile_times_s.size(), 4u);
  EXPECT_NEAR(s.tile_times_s.front(), 0.4, 1e-6);
  EXPECT_NEAR(s.tile_times_s.back(), 2.2, 1e-6);
  EXPECT_EQ(s.width, 4 * 64);  // four columns: no empty ones
  EXPECT_EQ(s.height, 36);
}

TEST(ImageOutputContactSheet, ClampsTheTileSizeAndColumns) {
  ContactSheetOptions o;
  o.tile_width = 5000;
  o.columns = 100;
  const ContactSheet s = make_contact_sheet(two_scene_clip(), std::vector<double>(10, 0.0), o);
  EXPECT_EQ(s.width, 8 * 640);
  EXPECT_EQ(s.height, 2 * 360);
}

TEST(ImageOutputContactSheet, ATimePastTheEndGivesABlackTile) {
  const ContactSheet s = make_contact_sheet(two_scene_clip(), {99.0}, {});
  ASSERT_EQ(s.tile_times_s.size(), 1u);
  EXPECT_EQ(s.tile_times_s[0], 99.0);
  const av::Frame f = decode_image(AV_CODEC_ID_MJPEG, s.jpeg);
  EXPECT_EQ(f->width, 240);
  EXPECT_LT(mean_luma(*f, 100, 60, 100, 60), 10);
}

TEST(ImageOutputContactSheet, BadInputThrowsOneLine) {
  const auto expect_error = [](const std::string& path, std::vector<double> times, ErrorCode code,
                               const std::string& fragment) {
    try {
      make_contact_sheet(path, times);
      ADD_FAILURE() << "no error for " << path;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code);
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
  };
  expect_error("/nonexistent/clip.mp4", {0.0}, ErrorCode::kInput, "/nonexistent/clip.mp4");
  test::TempDir dir;
  const std::string audio = dir / "tone.m4a";
  ASSERT_EQ(
      test::run({"ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=0.5", "-c:a", "aac", audio}).exit_code,
      0);
  expect_error(audio, {0.0}, ErrorCode::kInput, "no video stream");
  expect_error(two_scene_clip(), {}, ErrorCode::kUsage, "no times");
}

SegmentReport segment(int index, int slot, double start, double finish, const std::string& backend = "x264") {
  SegmentReport r;
  r.index = index;
  r.slot = slot;
  r.started_s = start;
  r.finished_s = finish;
  r.backend = backend;
  return r;
}

TEST(ImageOutputTimeline, DecodesAndGrowsOneRowPerWorkerSlot) {
  TranscodeSummary one, three;
  one.segments = {segment(0, 0, 0, 2), segment(1, 0, 2, 4)};
  for (int i = 0; i < 6; ++i) three.segments.push_back(segment(i, i % 3, i / 3 * 2.0, i / 3 * 2.0 + 2));
  const av::Frame a = decode_image(AV_CODEC_ID_PNG, timeline_png(one));
  const av::Frame b = decode_image(AV_CODEC_ID_PNG, timeline_png(three));
  EXPECT_EQ(a->width, 960);
  EXPECT_EQ(b->width, 960);
  EXPECT_EQ(b->height - a->height, 2 * 28);
  EXPECT_EQ(a->format, AV_PIX_FMT_RGB24);
}

TEST(ImageOutputTimeline, BarsAreColouredByBackendWithAGapBetween) {
  TranscodeSummary s;
  s.segments = {segment(0, 0, 0, 5), segment(1, 0, 5, 10), segment(2, 1, 0, 10, "nvenc")};
  const av::Frame f = decode_image(AV_CODEC_ID_PNG, timeline_png(s, 640));
  ASSERT_EQ(f->width, 640);
  const auto pixel = [&](int x, int y) {
    const std::uint8_t* p = f->data[0] + y * f->linesize[0] + x * 3;
    return std::array<int, 3>{p[0], p[1], p[2]};
  };
  // Layout: 40 px left margin, 20 px right, rows of 28 px from y = 12; the plot spans 0..10 s.
  const int plot = 640 - 40 - 20, row0 = 12 + 14, row1 = 12 + 28 + 14;
  EXPECT_EQ(pixel(40 + plot / 4, row0 + 8), (std::array<int, 3>{0x4e, 0x79, 0xa7}));  // x264, below its label
  EXPECT_EQ(pixel(40 + plot * 3 / 4, row1 + 8), (std::array<int, 3>{0x76, 0xb0, 0x41}));  // nvenc
  EXPECT_EQ(pixel(40 + plot / 2 - 1, row0), (std::array<int, 3>{255, 255, 255}));         // between segments
}

TEST(ImageOutputTimeline, AnEmptySummaryIsAValidEmptyChart) {
  const std::vector<std::uint8_t> png = timeline_png(TranscodeSummary{}, 100);
  const av::Frame f = decode_image(AV_CODEC_ID_PNG, png);
  EXPECT_EQ(f->width, 320);  // the narrowest allowed
  EXPECT_EQ(f->height, 12 + 28 + 34);
}

}  // namespace
}  // namespace pvt
