// AV1 and VP9: SVT-AV1, libaom, rav1e and libvpx segments joined by stream copy into MKV, WebM and MP4.
// Each output is judged by ffprobe and ffmpeg's psnr: every frame, the codec and profile asked for, a key
// frame at every segment start, a quality floor fitting the settings, the audio the container takes.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace pvt {
namespace {

struct Case {
  const char* codec;
  const char* encoder;
  const char* ext;
  const char* profile;      // ffprobe's name for the profile of 8-bit 4:2:0
  const char* audio_codec;  // what the container gets from the clip's AAC
  double psnr_floor;        // dB at the fastest preset and the default crf
};

std::string name(const testing::TestParamInfo<Case>& i) {
  return std::string(i.param.encoder) + "_" + i.param.ext;
}

class Av1Vp9Output : public testing::TestWithParam<Case> {};

TEST_P(Av1Vp9Output, EveryFrameTheCodecAndAKeyFrameAtEverySegmentStart) {
  const Case& c = GetParam();
  test::TempDir dir;
  const std::string in = test::scene_clip(/*audio=*/true);
  const std::string out = dir / (std::string("out.") + c.ext);
  const auto r =
      test::run_pvt({"transcode", in, "-o", out, "--codec", c.codec, "--encoder", c.encoder, "--preset",
                     "ultrafast", "--segment-duration", "2", "--progress", "none", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["encoder"], c.encoder);
  EXPECT_EQ(summary["codec"], c.codec);
  ASSERT_GE(summary["segments"].size(), 3u) << "the scene clip is cut into several segments";

  EXPECT_EQ(test::ffprobe_frames(out), test::ffprobe_frames(in));
  EXPECT_EQ(test::ffprobe_stream(out, "v:0", "codec_name"), c.codec);
  EXPECT_EQ(test::ffprobe_stream(out, "v:0", "profile"), c.profile);
  EXPECT_EQ(test::ffprobe_stream(out, "a:0", "codec_name"), c.audio_codec);
  const auto keys = test::ffprobe_keyframes(out);
  for (const auto& s : summary["segments"]) {
    const int start = s["start_frame"];
    ASSERT_LT(start, static_cast<int>(keys.size()));
    EXPECT_TRUE(keys[start]) << "segment " << s["index"] << " starts at frame " << start
                             << " without a key frame";
    // libaom, told that its first frame is a key frame, made it a poor one and keyed the next frame too.
    if (start + 1 < static_cast<int>(keys.size()))
      EXPECT_FALSE(keys[start + 1]) << "segment " << s["index"] << ": its second frame is a key frame too";
  }
  EXPECT_GT(test::psnr(out, in), c.psnr_floor);
}

INSTANTIATE_TEST_SUITE_P(Encoders, Av1Vp9Output,
                         testing::Values(Case{"av1", "svtav1", "mkv", "Main", "aac", 30},
                                         Case{"av1", "svtav1", "webm", "Main", "opus", 30},
                                         Case{"av1", "svtav1", "mp4", "Main", "aac", 30},
                                         Case{"vp9", "vpx", "webm", "Profile 0", "opus", 30},
                                         Case{"vp9", "vpx", "mp4", "Profile 0", "aac", 30},
                                         Case{"av1", "aom", "mkv", "Main", "aac", 30},
                                         Case{"av1", "rav1e", "mkv", "Main", "aac", 28}),
                         name);

// A 10-bit HDR10 clip (PQ, BT.2020): AV1 Main and VP9 profile 2 keep the depth and the colour signalling.
std::string hdr_clip(const test::TempDir& dir) {
  const std::string path = dir / "hdr10.mkv";
  const auto r = test::run({"ffmpeg",
                            "-v",
                            "error",
                            "-y",
                            "-f",
                            "lavfi",
                            "-i",
                            "testsrc2=s=320x180:r=25:d=2",
                            "-vf",
                            "format=yuv420p10le",
                            "-c:v",
                            "libx265",
                            "-preset",
                            "ultrafast",
                            "-x265-params",
                            "log-level=error",
                            "-color_primaries",
                            "bt2020",
                            "-color_trc",
                            "smpte2084",
                            "-colorspace",
                            "bt2020nc",
                            path});
  if (r.exit_code != 0) throw std::runtime_error("cannot make the HDR clip: " + r.err);
  return path;
}

TEST(Av1Vp9TenBit, KeepsTheDepthAndTheHdrSignalling) {
  test::TempDir dir;
  const std::string in = hdr_clip(dir);
  for (const auto& [codec, ext, profile] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"av1", "mkv", "Main"}, {"vp9", "webm", "Profile 2"}}) {
    const std::string out = dir / ("out-" + codec + "." + ext);
    const auto r = test::run_pvt({"transcode", in, "-o", out, "--codec", codec, "--preset", "ultrafast",
                                  "--progress", "none", "--segment-duration", "1"});
    ASSERT_EQ(r.exit_code, 0) << codec << ": " << r.err;
    EXPECT_EQ(test::ffprobe_stream(out, "v:0", "pix_fmt"), "yuv420p10le") << codec;
    EXPECT_EQ(test::ffprobe_stream(out, "v:0", "profile"), profile) << codec;
    EXPECT_EQ(test::ffprobe_stream(out, "v:0", "color_transfer"), "smpte2084") << codec;
    EXPECT_EQ(test::ffprobe_stream(out, "v:0", "color_primaries"), "bt2020") << codec;
    EXPECT_EQ(test::ffprobe_frames(out), 50) << codec;
  }
}

TEST(Av1Vp9Refusals, OneLineErrorsForWhatTheContainersOrEncodersCannotDo) {
  test::TempDir dir;
  const std::string in = test::scene_clip(true);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-o", dir / "x.webm", "--codec", "h264"}, "WebM carries VP8, VP9 or AV1"},
      {{"-o", dir / "x.webm", "--codec", "vp9", "--audio", "aac"}, "WebM carries Opus or Vorbis"},
      {{"-o", dir / "x.mkv", "--codec", "vp9", "--encoder", "aom"}, "--encoder aom makes av1, not vp9"},
      {{"-o", dir / "x.mkv", "--codec", "av1", "--preset", "20"}, "--preset"},
  };
  for (const auto& [extra, expected] : cases) {
    std::vector<std::string> args{"transcode", in, "--progress", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = test::run_pvt(args);
    EXPECT_NE(r.exit_code, 0) << extra[1];
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

// HLS with fMP4 segments (MPEG-TS cannot carry AV1 or VP9): an init segment named by EXT-X-MAP, one .m4s
// per playlist segment, each starting on a key frame, and every frame through FFmpeg's HLS demuxer.
TEST(Av1Vp9Hls, FragmentedMp4SegmentsWithAnInitSegment) {
  test::TempDir dir;
  const std::string in = test::scene_clip(true);
  for (const std::string codec : {"av1", "vp9"}) {
    const std::string out = dir / ("hls-" + codec);
    const auto r = test::run_pvt({"transcode", in, "-o", out, "--format", "hls", "--codec", codec, "--preset",
                                  "ultrafast", "--segment-duration", "2", "--progress", "none"});
    ASSERT_EQ(r.exit_code, 0) << codec << ": " << r.err;
    std::ifstream f(out + "/index.m3u8");
    const std::string playlist((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_NE(playlist.find("#EXT-X-VERSION:7"), std::string::npos) << playlist;
    EXPECT_NE(playlist.find("#EXT-X-MAP:URI=\"segment_init.mp4\""), std::string::npos) << playlist;
    int segments = 0;
    for (std::size_t at = 0; (at = playlist.find(".m4s", at)) != std::string::npos; ++at) ++segments;
    EXPECT_GE(segments, 3) << playlist;
    EXPECT_EQ(playlist.find(".ts"), std::string::npos) << playlist;
    EXPECT_EQ(test::ffprobe_frames(out + "/index.m3u8"), test::ffprobe_frames(in)) << codec;
    EXPECT_EQ(test::ffprobe_stream(out + "/index.m3u8", "v:0", "codec_name"), codec);
    // Each segment, read after the init segment, opens on a key frame.
    for (int i = 0; i < segments; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "/segment_%05d.m4s", i);
      const std::string joined = dir / ("joined-" + codec + std::to_string(i) + ".mp4");
      {
        std::ofstream j(joined, std::ios::binary);
        j << std::ifstream(out + "/segment_init.mp4", std::ios::binary).rdbuf()
          << std::ifstream(out + name, std::ios::binary).rdbuf();
      }
      const auto keys = test::ffprobe_keyframes(joined);
      ASSERT_FALSE(keys.empty()) << name;
      EXPECT_TRUE(keys[0]) << codec << name << " does not start on a key frame";
    }
  }
}

// ADTS AAC (an MPEG-TS input) copied into fMP4 HLS: the init segment written before any packet still
// describes the audio (its AudioSpecificConfig from the first ADTS header), so the audio decodes.
TEST(Av1Vp9Hls, CopiedAdtsAudioDecodesFromTheFragments) {
  test::TempDir dir;
  const std::string ts = dir / "in.ts";
  const auto made =
      test::run({"ffmpeg", "-v",      "error",   "-y",
                 "-f",     "lavfi",   "-i",      "testsrc2=s=320x180:r=25:d=4",
                 "-f",     "lavfi",   "-i",      "sine=frequency=440:sample_rate=44100:duration=4",
                 "-c:v",   "libx264", "-preset", "ultrafast",
                 "-c:a",   "aac",     "-f",      "mpegts",
                 ts});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string out = dir / "hls";
  const auto r = test::run_pvt({"transcode", ts, "-o", out, "--format", "hls", "--codec", "av1", "--preset",
                                "ultrafast", "--segment-duration", "2", "--progress", "none", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::ffprobe_stream(out + "/segment_init.mp4", "a:0", "codec_name"), "aac");
  EXPECT_EQ(test::ffprobe_stream(out + "/segment_init.mp4", "a:0", "sample_rate"), "44100");
  const auto decoded =
      test::run({"ffmpeg", "-v", "error", "-i", out + "/index.m3u8", "-map", "0:a", "-f", "null", "-"});
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_EQ(decoded.err, "") << "the audio decodes without errors";
}

// HDR10 static metadata through SVT-AV1: its own units (real chromaticities and cd/m2), not x265's.
TEST(Av1Vp9TenBit, SvtAv1WritesTheMasteringDisplayInItsOwnUnits) {
  test::TempDir dir;
  const std::string in = dir / "hdr10-md.mkv";
  const auto made = test::run({"ffmpeg",
                               "-v",
                               "error",
                               "-y",
                               "-f",
                               "lavfi",
                               "-i",
                               "testsrc2=s=320x180:r=25:d=1",
                               "-vf",
                               "format=yuv420p10le",
                               "-c:v",
                               "libx265",
                               "-preset",
                               "ultrafast",
                               "-x265-params",
                               "log-level=error:hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,"
                               "16000)WP(15635,16450)L(10000000,50):"
                               "max-cll=1000,400",
                               "-color_primaries",
                               "bt2020",
                               "-color_trc",
                               "smpte2084",
                               "-colorspace",
                               "bt2020nc",
                               in});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string out = dir / "out.mkv";
  const auto r = test::run_pvt(
      {"transcode", in, "-o", out, "--codec", "av1", "--preset", "ultrafast", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto probe = test::run({"ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
                                "-show_entries", "frame_side_data", "-of", "flat", out});
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  // AV1 stores chromaticities in 1/65536 and luminance in 1/256 (max) and 1/16384 (min) units.
  const auto value = [&](const std::string& key) {
    const auto at = probe.out.find("." + key + "=\"");
    if (at == std::string::npos) return -1.0;
    long num = 0, den = 1;
    std::sscanf(probe.out.c_str() + at + key.size() + 3, "%ld/%ld", &num, &den);
    return den ? static_cast<double>(num) / den : -1.0;
  };
  EXPECT_NEAR(value("red_x"), 0.68, 0.001) << probe.out;
  EXPECT_NEAR(value("white_point_y"), 0.329, 0.001) << probe.out;
  EXPECT_NEAR(value("max_luminance"), 1000, 1) << probe.out;
  EXPECT_NEAR(value("min_luminance"), 0.005, 0.001) << probe.out;
}

TEST(Av1Vp9Resume, AFailedAv1JobResumesWithItsFinishedSegments) {
  test::TempDir dir;
  const std::string out = dir / "out.mkv";
  // 1 s segments: the ones before segment 3 are finished when it fails for good.
  const std::vector<std::string> args{
      "transcode", test::scene_clip(true), "-o", out,          "--codec", "av1",   "--preset",
      "ultrafast", "--segment-duration",   "1",  "--progress", "none",    "--json"};
  const auto failed = test::run_pvt(args, {"PVT_FAULT=fail:3"});
  ASSERT_NE(failed.exit_code, 0);
  EXPECT_NE(failed.err.find("run the same command again to resume"), std::string::npos) << failed.err;
  const auto resumed = test::run_pvt(args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto s = nlohmann::json::parse(resumed.out);
  EXPECT_TRUE(s["resumed"].get<bool>());
  EXPECT_GE(s["segments_reused"].get<int>(), 2);
  EXPECT_EQ(test::ffprobe_frames(out), test::ffprobe_frames(test::scene_clip(true)));
  EXPECT_EQ(test::ffprobe_stream(out, "v:0", "codec_name"), "av1");
}

}  // namespace
}  // namespace pvt
