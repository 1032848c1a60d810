// Real clips from ../shared/media (film and camera: H.264, HEVC 10-bit, MPEG-2, VFR, with and without
// audio), transcoded to MP4 and HLS. Each clip's expected frame count and duration come from
// MANIFEST.tsv; a missing clip skips its test with a message.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_support.hpp"

namespace pvt {
namespace {

struct ManifestClip {
  std::string file;
  long frames = 0;
  double duration = 0;
  bool audio = false;
};

std::vector<ManifestClip> read_manifest() {
  std::vector<ManifestClip> clips;
  std::ifstream in(test::shared_media_dir() + "/MANIFEST.tsv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    if (cols.size() < 9) continue;
    clips.push_back({cols[0], std::atol(cols[6].c_str()), std::atof(cols[7].c_str()), cols[8] != "none"});
  }
  return clips;
}

// The clip's MANIFEST.tsv line (frames 0 when it has none).
ManifestClip manifest_clip(const std::string& file) {
  for (const auto& m : read_manifest())
    if (m.file == file) return m;
  return {};
}

struct Case {
  std::string file;
  std::string format;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.file << " -> " << c.format;
}

class SharedMedia : public ::testing::TestWithParam<Case> {};

TEST_P(SharedMedia, TranscodesEveryFrameWithItsTimingAndAudio) {
  const Case c = GetParam();
  const auto path = test::shared_clip(c.file);
  if (!path) GTEST_SKIP() << "shared clip " << c.file << " not found in " << test::shared_media_dir();
  const ManifestClip clip = manifest_clip(c.file);
  ASSERT_GT(clip.frames, 0) << c.file << " missing from MANIFEST.tsv";

  test::TempDir dir;
  const std::string out = c.format == "hls" ? dir / "out.m3u8" : dir / ("out." + c.format);
  const auto r = test::run_pvt({"transcode", *path, "-o", out, "--format", c.format, "--preset", "veryfast",
                                "--segment-duration", "4", "--json", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("frames"), clip.frames);
  EXPECT_EQ(test::ffprobe_frames(out), clip.frames);
  // Duration within one frame of the source (VFR clips: their longest frame).
  EXPECT_NEAR(j.at("verified").at("duration").get<double>(), j.at("duration").get<double>(), 0.2);
  EXPECT_NEAR(test::ffprobe_duration(out), clip.duration, 0.25);
  EXPECT_EQ(j.at("verified").at("audio").get<bool>(), clip.audio);
  if (clip.audio) {
    // Copied where the container carries the codec (Opus in MP4 and Matroska), AAC for MPEG-TS.
    const std::string input_codec = test::ffprobe_stream(*path, "a:0", "codec_name");
    EXPECT_EQ(test::ffprobe_stream(out, "a:0", "codec_name"),
              c.format == "hls" && input_codec != "aac" ? "aac" : input_codec);
  }
  // CRF 23 at veryfast: comfortably above 30 dB on all of these sources.
  EXPECT_GT(test::psnr(out, *path), 32.0);
}

std::vector<Case> cases() {
  std::vector<Case> v;
  for (const char* f : {"big_buck_bunny.mp4", "bbb_hevc10.mkv", "cityCC0.mpg", "car-detection.mp4",
                        "car_vfr.mp4", "book.mkv"})
    for (const char* fmt : {"mp4", "mkv", "hls"}) v.push_back({f, fmt});
  return v;
}

// A gtest name: letters and digits, the rest '_'.
std::string test_name(std::string n) {
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return test_name(info.param.file + "_" + info.param.format);
}

INSTANTIATE_TEST_SUITE_P(Clips, SharedMedia, ::testing::ValuesIn(cases()), case_name);

TEST(SharedMediaVfr, VariableFrameRateKeepsEveryTimestamp) {
  const auto path = test::shared_clip("car_vfr.mp4");
  if (!path) GTEST_SKIP() << "shared clip car_vfr.mp4 not found in " << test::shared_media_dir();
  const auto a = test::run_pvt({"analyze", *path, "--json", "--progress", "none"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_TRUE(nlohmann::json::parse(a.out).at("media").at("video").at("variable_frame_rate").get<bool>());
  test::TempDir dir;
  const std::string out = dir / "vfr.mp4";
  const auto r =
      test::run_pvt({"transcode", *path, "-o", out, "--preset", "ultrafast", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto pts = [](const std::string& f) {
    const auto p = test::run({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                              "packet=pts_time", "-of", "csv=p=0", f});
    std::vector<double> t;
    std::stringstream ss(p.out);
    std::string line;
    while (std::getline(ss, line)) t.push_back(std::atof(line.c_str()));
    std::sort(t.begin(), t.end());
    return t;
  };
  const auto in_pts = pts(*path), out_pts = pts(out);
  ASSERT_EQ(in_pts.size(), out_pts.size());
  for (std::size_t i = 0; i < in_pts.size(); ++i) EXPECT_NEAR(out_pts[i], in_pts[i], 1e-3) << i;
}

// A two-rung streaming set (HLS + DASH over CMAF segments) from each shared clip: every rung holds every
// frame of the source at its own height, the master playlist names both, and FFmpeg's DASH reader finds
// every frame in the MPD. VFR, 10-bit HEVC with Opus, MPEG-2 without audio and full-range sources among them.
class SharedMediaLadder : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedMediaLadder, EveryRungHoldsEveryFrame) {
  const std::string file = GetParam();
  const auto path = test::shared_clip(file);
  if (!path) GTEST_SKIP() << "shared clip " << file << " not found in " << test::shared_media_dir();
  const ManifestClip clip = manifest_clip(file);
  ASSERT_GT(clip.frames, 0) << file << " missing from MANIFEST.tsv";
  test::TempDir dir;
  const std::string out = dir / "set";
  const auto r =
      test::run_pvt({"transcode", *path, "-o", out, "--ladder", "240,144", "--format", "hls+dash", "--preset",
                     "ultrafast", "--segment-duration", "4", "--json", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("renditions").size(), 2u);
  for (const char* height : {"240", "144"}) {
    const std::string rung = out + "/index_" + height + "p.m3u8";
    EXPECT_EQ(test::ffprobe_frames(rung), clip.frames) << rung;
    EXPECT_EQ(test::ffprobe_stream(rung, "v:0", "height"), height) << rung;
  }
  std::ifstream master(out + "/master.m3u8");
  std::stringstream text;
  text << master.rdbuf();
  EXPECT_NE(text.str().find("index_240p.m3u8"), std::string::npos);
  EXPECT_NE(text.str().find("index_144p.m3u8"), std::string::npos);
  EXPECT_EQ(text.str().find("TYPE=AUDIO") != std::string::npos, clip.audio);
  EXPECT_EQ(test::ffprobe_frames(out + "/manifest.mpd"), clip.frames);
}

std::string file_name(const ::testing::TestParamInfo<std::string>& info) {
  return test_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(Clips, SharedMediaLadder,
                         ::testing::Values("big_buck_bunny.mp4", "bbb_hevc10.mkv", "cityCC0.mpg",
                                           "car_vfr.mp4", "book.mkv"),
                         file_name);

// AV1 and VP9 from the shared clips: each encoder into a container it goes into, on a clip that tests
// something of its own (MPEG-2 without audio, 10-bit HEVC with Opus, VFR with AAC, full range).
struct CodecCase {
  std::string file, codec, encoder, container;
};

void PrintTo(const CodecCase& c, std::ostream* os) {
  *os << c.file << " -> " << c.encoder << " " << c.container;
}

class SharedMediaAv1Vp9 : public ::testing::TestWithParam<CodecCase> {};

TEST_P(SharedMediaAv1Vp9, EveryFrameTheCodecAndKeyFramesWhereSegmentsStart) {
  const CodecCase c = GetParam();
  const auto path = test::shared_clip(c.file);
  if (!path) GTEST_SKIP() << "shared clip " << c.file << " not found in " << test::shared_media_dir();
  const ManifestClip clip = manifest_clip(c.file);
  ASSERT_GT(clip.frames, 0) << c.file << " missing from MANIFEST.tsv";
  test::TempDir dir;
  const std::string out = dir / ("out." + c.container);
  const auto r =
      test::run_pvt({"transcode", *path, "-o", out, "--codec", c.codec, "--encoder", c.encoder, "--preset",
                     "ultrafast", "--segment-duration", "4", "--json", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(test::ffprobe_frames(out), clip.frames);
  EXPECT_NEAR(test::ffprobe_duration(out), clip.duration, 0.25);
  EXPECT_EQ(test::ffprobe_stream(out, "v:0", "codec_name"), c.codec);
  // 10-bit stays 10-bit.
  const bool ten_bit = test::ffprobe_stream(*path, "v:0", "pix_fmt").find("10") != std::string::npos;
  EXPECT_EQ(test::ffprobe_stream(out, "v:0", "pix_fmt").find("10") != std::string::npos, ten_bit);
  if (clip.audio) {
    const std::string input_codec = test::ffprobe_stream(*path, "a:0", "codec_name");
    EXPECT_EQ(test::ffprobe_stream(out, "a:0", "codec_name"), c.container == "webm" ? "opus" : input_codec);
  }
  const auto keys = test::ffprobe_keyframes(out);
  ASSERT_EQ(static_cast<long>(keys.size()), clip.frames);
  for (const auto& s : j.at("segments")) {
    const int start = s.at("start_frame");
    EXPECT_TRUE(keys[start]) << "segment " << s.at("index") << " at frame " << start;
    if (start + 1 < clip.frames) EXPECT_FALSE(keys[start + 1]) << "segment " << s.at("index");
  }
  EXPECT_GT(test::psnr(out, *path), 30.0);
}

std::string codec_case_name(const ::testing::TestParamInfo<CodecCase>& info) {
  return test_name(info.param.file + "_" + info.param.encoder + "_" + info.param.container);
}

INSTANTIATE_TEST_SUITE_P(Clips, SharedMediaAv1Vp9,
                         ::testing::Values(CodecCase{"cityCC0.mpg", "av1", "svtav1", "mkv"},
                                           CodecCase{"bbb_hevc10.mkv", "av1", "svtav1", "mp4"},
                                           CodecCase{"car_vfr.mp4", "vp9", "vpx", "webm"},
                                           CodecCase{"car-detection.mp4", "vp9", "vpx", "mp4"},
                                           CodecCase{"book.mkv", "av1", "aom", "mkv"}),
                         codec_case_name);

}  // namespace
}  // namespace pvt
