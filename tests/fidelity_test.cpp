// Faithful output: every property the input carries survives pvt transcode into MP4, Matroska and HLS, or
// is converted on purpose with a warning — judged by ffprobe, never by pvt's own report.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>

#include "error.hpp"
#include "output_plan.hpp"
#include "test_support.hpp"
#include "verify_output.hpp"

namespace pvt {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Generated inputs, each carrying one property, made once per process with the ffmpeg CLI.
class Inputs {
 public:
  static const std::string& get(const std::string& name) {
    static Inputs inputs;
    std::lock_guard lock(inputs.m_);
    auto it = inputs.made_.find(name);
    if (it == inputs.made_.end()) it = inputs.made_.emplace(name, inputs.make(name)).first;
    return it->second;
  }

 private:
  std::string file(const std::string& n) const { return dir_ / n; }

  void ffmpeg(std::vector<std::string> args) const {
    args.insert(args.begin(), {"ffmpeg", "-v", "error", "-y"});
    const auto r = test::run(args);
    if (r.exit_code != 0) throw std::runtime_error("ffmpeg failed making a test input: " + r.err);
  }

  std::vector<std::string> picture(const std::string& size = "320x180", double seconds = 2) const {
    return {"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=25:duration=" + std::to_string(seconds)};
  }

  std::string write_text(const std::string& name, const std::string& text) const {
    std::ofstream(file(name)) << text;
    return file(name);
  }

  std::string make(const std::string& name) {
    const std::string out = file(name);
    if (name.rfind("rot", 0) == 0) {  // rot90.mp4: the display matrix is set on a stream copy (ffmpeg 5.1)
      const std::string plain = file("plain_" + name);
      auto args = picture();
      args.insert(args.end(), {"-f", "lavfi", "-i", "sine=duration=2", "-c:v", "libx264", "-preset",
                               "ultrafast", "-c:a", "aac", plain});
      ffmpeg(args);
      ffmpeg({"-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=" + name.substr(3, name.find('.') - 3),
              out});
    } else if (name == "hdr10.mkv" || name == "hlg.mkv") {
      const bool pq = name == "hdr10.mkv";
      const std::string trc = pq ? "smpte2084" : "arib-std-b67";
      std::string params = "log-level=error:colorprim=bt2020:colormatrix=bt2020nc:transfer=" + trc;
      if (pq)
        params +=
            ":master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll="
            "1000,400";
      auto args = picture();
      args.insert(args.end(),
                  {"-pix_fmt", "yuv420p10le", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                   params, "-color_primaries", "bt2020", "-color_trc", trc, "-colorspace", "bt2020nc", out});
      ffmpeg(args);
    } else if (name == "422p10.mkv") {
      auto args = picture();
      args.insert(args.end(), {"-pix_fmt", "yuv422p10le", "-c:v", "libx264", "-preset", "ultrafast", out});
      ffmpeg(args);
    } else if (name == "anamorphic.mp4") {
      auto args = picture("320x240");
      args.insert(args.end(), {"-vf", "setsar=2/1", "-c:v", "libx264", "-preset", "ultrafast", out});
      ffmpeg(args);
    } else if (name == "fullrange.mp4") {
      auto args = picture();
      args.insert(args.end(), {"-pix_fmt", "yuvj420p", "-c:v", "libx264", "-preset", "ultrafast", out});
      ffmpeg(args);
    } else if (name == "rich.mkv") {
      // Two audio languages, SRT and ASS subtitles, two chapters, a title.
      const auto srt = write_text("s.srt",
                                  "1\n00:00:00,500 --> 00:00:01,500\nHello there\n\n2\n00:00:02,000 --> "
                                  "00:00:03,000\nSecond line\n");
      const auto ass = write_text(
          "s.ass",
          "[Script Info]\nScriptType: v4.00+\nPlayResX: 320\nPlayResY: 180\n\n[V4+ Styles]\nFormat: Name, "
          "Fontname, "
          "Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, "
          "StrikeOut, "
          "ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, "
          "MarginV, "
          "Encoding\nStyle: "
          "Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,2,"
          "10,10,10,1\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
          "Effect, "
          "Text\nDialogue: 0,0:00:00.50,0:00:01.50,Default,,0,0,0,,Bonjour\nDialogue: "
          "0,0:00:02.00,0:00:03.00,Default,,0,0,0,,Deuxieme\n");
      const auto meta =
          write_text("m.txt",
                     ";FFMETADATA1\ntitle=A Test Film\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=2000\n"
                     "title=Opening\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=2000\nEND=4000\ntitle=Ending\n");
      auto args = picture("320x180", 4);
      args.insert(args.end(), {"-f",
                               "lavfi",
                               "-i",
                               "sine=frequency=440:duration=4",
                               "-f",
                               "lavfi",
                               "-i",
                               "sine=frequency=660:duration=4",
                               "-i",
                               srt,
                               "-i",
                               ass,
                               "-i",
                               meta,
                               "-map",
                               "0",
                               "-map",
                               "1",
                               "-map",
                               "2",
                               "-map",
                               "3",
                               "-map",
                               "4",
                               "-map_metadata",
                               "5",
                               "-map_chapters",
                               "5",
                               "-c:v",
                               "libx264",
                               "-preset",
                               "ultrafast",
                               "-c:a:0",
                               "aac",
                               "-c:a:1",
                               "libopus",
                               "-c:s",
                               "copy",
                               "-metadata:s:a:0",
                               "language=eng",
                               "-metadata:s:a:1",
                               "language=fra",
                               "-metadata:s:a:1",
                               "title=Commentaire",
                               "-metadata:s:s:0",
                               "language=eng",
                               "-metadata:s:s:1",
                               "language=fra",
                               out});
      ffmpeg(args);
    } else if (name == "attachment.mkv") {
      const auto font = write_text("font.ttf", std::string(2048, 'F'));
      // A font for the ASS track, as Matroska files carry them (the font bytes need not be a real font).
      const auto ass =
          write_text("a.ass",
                     "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, "
                     "Fontsize\nStyle: Default,Test,20\n\n[Events]\nFormat: Layer, Start, End, "
                     "Style, Text\nDialogue: 0,0:00:00.20,0:00:01.00,Default,Hi\n");
      ffmpeg({"-f",
              "lavfi",
              "-i",
              "testsrc2=size=320x180:rate=25:duration=2",
              "-i",
              ass,
              "-map",
              "0",
              "-map",
              "1",
              "-c:v",
              "libx264",
              "-preset",
              "ultrafast",
              "-c:s",
              "copy",
              "-attach",
              font,
              "-metadata:s:t",
              "mimetype=application/x-truetype-font",
              out});
    } else {
      throw std::runtime_error("no such test input: " + name);
    }
    return out;
  }

  std::mutex m_;
  std::map<std::string, std::string> made_;
  test::TempDir dir_;
};

json probe(const std::string& path) {
  const auto r = test::run(
      {"ffprobe", "-v", "error", "-show_streams", "-show_chapters", "-show_format", "-of", "json", path});
  if (r.exit_code != 0) throw std::runtime_error("ffprobe " + path + ": " + r.err);
  return json::parse(r.out);
}

json first_frame(const std::string& path) {
  const auto r = test::run({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames",
                            "-read_intervals", "%+#1", "-of", "json", path});
  return json::parse(r.out).at("frames").at(0);
}

json video_stream(const json& p) {
  for (const auto& s : p.at("streams"))
    if (s.at("codec_type") == "video") return s;
  throw std::runtime_error("no video stream");
}

std::vector<json> streams_of(const json& p, const std::string& type) {
  std::vector<json> v;
  for (const auto& s : p.at("streams"))
    if (s.at("codec_type") == type) v.push_back(s);
  return v;
}

std::string tag(const json& s, const std::string& key) {
  return s.contains("tags") && s.at("tags").contains(key) ? s.at("tags").at(key).get<std::string>() : "";
}

bool has_side_data(const json& j, const std::string& type) {
  if (!j.contains("side_data_list")) return false;
  for (const auto& sd : j.at("side_data_list"))
    if (sd.value("side_data_type", "") == type) return true;
  return false;
}

int rotation_of(const json& stream) {
  if (!stream.contains("side_data_list")) return 0;
  for (const auto& sd : stream.at("side_data_list"))
    if (sd.contains("rotation")) return sd.at("rotation").get<int>();
  return 0;
}

// Output path for a format; HLS: a directory whose playlist is judged.
struct Output {
  std::string arg;   // what -o gets
  std::string file;  // what ffprobe reads
};

Output output_for(const test::TempDir& dir, const std::string& format) {
  if (format == "hls") return {dir / "hls", dir / "hls/index.m3u8"};
  return {dir / ("out." + format), dir / ("out." + format)};
}

test::RunResult transcode(const std::string& in, const std::string& out,
                          std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"transcode", in,           "-o",   out, "--preset",
                                "ultrafast", "--progress", "none", "-y"};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::run_pvt(args);
}

// PSNR of the first displayed frame of `out` against the first displayed frame of `in` (the ffmpeg CLI
// applies the display matrix when decoding: both are compared as a viewer sees them).
double displayed_psnr(const std::string& out, const std::string& in) {
  const auto r =
      test::run({"ffmpeg", "-hide_banner", "-nostats", "-i", out, "-i", in, "-lavfi",
                 "[0:v]trim=end_frame=1,format=yuv420p[a];[1:v]trim=end_frame=1,format=yuv420p[b];[a][b]psnr",
                 "-f", "null", "-"});
  std::smatch m;
  static const std::regex avg("average:([0-9.]+|inf)");
  if (!std::regex_search(r.err, m, avg)) return -1;
  return m[1] == "inf" ? 100.0 : std::atof(m[1].str().c_str());
}

// ---- Orientation ----

struct RotationCase {
  int degrees;
  std::string format;
};

class Rotation : public ::testing::TestWithParam<RotationCase> {};

TEST_P(Rotation, TheDisplayedPictureEqualsTheInputs) {
  const auto [degrees, format] = GetParam();
  const std::string in = Inputs::get("rot" + std::to_string(degrees) + ".mp4");
  ASSERT_EQ(std::abs(rotation_of(video_stream(probe(in)))) % 360, degrees == 180  ? 180
                                                                  : degrees % 360 ? 90
                                                                                  : 0)
      << "the generated input lacks its display matrix";
  test::TempDir dir;
  const Output out = output_for(dir, format);
  const auto r = transcode(in, out.arg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json v = video_stream(probe(out.file));
  const bool quarter = degrees % 180 != 0;
  if (format == "mp4") {
    // MP4 keeps the matrix: the coded picture is the input's, turned by the player.
    EXPECT_EQ(rotation_of(v), rotation_of(video_stream(probe(in))));
    EXPECT_EQ(v.at("width"), 320);
  } else {
    // Matroska (FFmpeg 5.1 writes no matrix there) and MPEG-TS: the pixels are turned.
    EXPECT_EQ(rotation_of(v), 0);
    EXPECT_EQ(v.at("width"), quarter ? 180 : 320);
    EXPECT_EQ(v.at("height"), quarter ? 320 : 180);
    EXPECT_NE(r.err.find("picture is turned"), std::string::npos) << r.err;
  }
  EXPECT_GT(displayed_psnr(out.file, in), 30.0) << "the displayed picture differs from the input's";
}

INSTANTIATE_TEST_SUITE_P(Fidelity, Rotation,
                         ::testing::Values(RotationCase{90, "mp4"}, RotationCase{90, "mkv"},
                                           RotationCase{90, "hls"}, RotationCase{180, "mkv"},
                                           RotationCase{180, "hls"}, RotationCase{270, "mp4"},
                                           RotationCase{270, "hls"}),
                         [](const auto& info) {
                           return "rot" + std::to_string(info.param.degrees) + "_" + info.param.format;
                         });

TEST(Fidelity, AnamorphicSampleAspectRatioIsKeptInEveryContainer) {
  const std::string in = Inputs::get("anamorphic.mp4");
  for (const std::string format : {"mp4", "mkv", "hls"}) {
    test::TempDir dir;
    const Output out = output_for(dir, format);
    const auto r = transcode(in, out.arg);
    ASSERT_EQ(r.exit_code, 0) << format << ": " << r.err;
    EXPECT_EQ(video_stream(probe(out.file)).value("sample_aspect_ratio", ""), "2:1") << format;
  }
}

TEST(Fidelity, FullRangeStaysFullRange) {
  const std::string in = Inputs::get("fullrange.mp4");
  for (const std::string format : {"mp4", "mkv"}) {
    test::TempDir dir;
    const Output out = output_for(dir, format);
    const auto r = transcode(in, out.arg);
    ASSERT_EQ(r.exit_code, 0) << format << ": " << r.err;
    EXPECT_EQ(first_frame(out.file).value("color_range", ""), "pc") << format;
    EXPECT_GT(test::psnr(out.file, in), 35.0) << format << ": levels were squeezed or stretched";
  }
}

// ---- Bit depth and HDR ----

struct HdrCase {
  std::string format;
};

class Hdr10 : public ::testing::TestWithParam<std::string> {};

TEST_P(Hdr10, HevcKeepsTenBitsPqAndTheStaticMetadataInStreamAndContainer) {
  const std::string format = GetParam();
  test::TempDir dir;
  const Output out = output_for(dir, format);
  const auto r = transcode(Inputs::get("hdr10.mkv"), out.arg, {"--codec", "hevc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json f = first_frame(out.file);
  EXPECT_EQ(f.value("pix_fmt", ""), "yuv420p10le");
  EXPECT_EQ(f.value("color_transfer", ""), "smpte2084");
  EXPECT_EQ(f.value("color_primaries", ""), "bt2020");
  // In the HEVC SEI (FFmpeg 5.1's libx265 wrapper alone would drop it) ...
  EXPECT_TRUE(has_side_data(f, "Mastering display metadata")) << f.dump();
  EXPECT_TRUE(has_side_data(f, "Content light level metadata")) << f.dump();
  // ... and in the container where it has a place (MP4 mdcv/clli, Matroska colour elements).
  if (format == "mp4") {
    EXPECT_EQ(video_stream(probe(out.file)).value("codec_tag_string", ""), "hvc1");
  }
  if (format != "hls") {
    const json v = video_stream(probe(out.file));
    EXPECT_TRUE(has_side_data(v, "Mastering display metadata")) << v.dump();
    EXPECT_TRUE(has_side_data(v, "Content light level metadata")) << v.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Fidelity, Hdr10, ::testing::Values("mp4", "mkv", "hls"));

TEST(Fidelity, HdrIntoEightBitH264IsToneMappedToSdrWithOneWarning) {
  test::TempDir dir;
  const auto r = transcode(Inputs::get("hdr10.mkv"), dir / "out.mp4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("tone-mapped to SDR BT.709"), std::string::npos) << r.err;
  const json f = first_frame(dir / "out.mp4");
  EXPECT_EQ(f.value("pix_fmt", ""), "yuv420p");
  EXPECT_EQ(f.value("color_transfer", ""), "bt709") << "an 8-bit picture must never be labelled PQ";
  EXPECT_EQ(f.value("color_primaries", ""), "bt709");
}

TEST(Fidelity, ToneMapOffRefusesInsteadOfConverting) {
  test::TempDir dir;
  const auto r = transcode(Inputs::get("hdr10.mkv"), dir / "out.mp4", {"--tonemap", "off"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("HDR"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out.mp4"));
}

TEST(Fidelity, H264HighTenWhenAskedKeepsHdr) {
  test::TempDir dir;
  const auto r = transcode(Inputs::get("hdr10.mkv"), dir / "out.mkv", {"--bit-depth", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json v = video_stream(probe(dir / "out.mkv"));
  EXPECT_EQ(v.value("profile", ""), "High 10");
  EXPECT_EQ(v.value("color_transfer", ""), "smpte2084");
  EXPECT_TRUE(has_side_data(v, "Mastering display metadata")) << v.dump();
}

TEST(Fidelity, HlgKeepsItsTransferInHevcAndIsToneMappedInto8Bit) {
  const std::string in = Inputs::get("hlg.mkv");
  test::TempDir dir;
  auto r = transcode(in, dir / "hevc.mkv", {"--codec", "hevc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(first_frame(dir / "hevc.mkv").value("color_transfer", ""), "arib-std-b67");
  EXPECT_EQ(first_frame(dir / "hevc.mkv").value("pix_fmt", ""), "yuv420p10le");
  r = transcode(in, dir / "sdr.mp4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(first_frame(dir / "sdr.mp4").value("color_transfer", ""), "bt709");
  EXPECT_NE(r.err.find("tone-mapped"), std::string::npos) << r.err;
}

TEST(Fidelity, FourTwoTwoTenBitKeepsChromaInFilesAndWarnsForHls) {
  const std::string in = Inputs::get("422p10.mkv");
  test::TempDir dir;
  auto r = transcode(in, dir / "out.mkv", {"--codec", "hevc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(first_frame(dir / "out.mkv").value("pix_fmt", ""), "yuv422p10le");
  r = transcode(in, dir / "hls", {"--codec", "hevc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(first_frame(dir / "hls/index.m3u8").value("pix_fmt", ""), "yuv420p10le");
  EXPECT_NE(r.err.find("4:2:0 for HLS"), std::string::npos) << r.err;
  // h264 without --bit-depth: 8 bits on purpose, said once.
  r = transcode(in, dir / "h264.mkv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(first_frame(dir / "h264.mkv").value("pix_fmt", ""), "yuv422p");
  EXPECT_NE(r.err.find("8-bit by default"), std::string::npos) << r.err;
}

// ---- Streams, subtitles, chapters, metadata ----

std::string subtitle_text(const std::string& path, int index) {
  return test::run(
             {"ffmpeg", "-v", "error", "-i", path, "-map", "0:s:" + std::to_string(index), "-f", "srt", "-"})
      .out;
}

TEST(Fidelity, Mp4KeepsEveryAudioTrackSubtitlesAsMovTextChaptersAndTitle) {
  test::TempDir dir;
  const auto r = transcode(Inputs::get("rich.mkv"), dir / "out.mp4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json p = probe(dir / "out.mp4");
  const auto audio = streams_of(p, "audio");
  ASSERT_EQ(audio.size(), 2u);
  EXPECT_EQ(tag(audio[0], "language"), "eng");
  EXPECT_EQ(tag(audio[1], "language"), "fra");
  EXPECT_EQ(audio[1].value("codec_name", ""), "opus");      // MP4 carries Opus: copied, not re-encoded
  EXPECT_EQ(tag(audio[1], "handler_name"), "Commentaire");  // MP4's only place for a track's name
  const auto subs = streams_of(p, "subtitle");
  ASSERT_GE(subs.size(), 2u);
  EXPECT_EQ(subs[0].value("codec_name", ""), "mov_text");
  EXPECT_EQ(tag(subs[0], "language"), "eng");
  EXPECT_EQ(tag(subs[1], "language"), "fra");
  const std::string text = subtitle_text(dir / "out.mp4", 0);
  EXPECT_NE(text.find("Hello there"), std::string::npos) << text;
  // The second cue 2.000 s after the first video frame, as in the input (the whole timeline may start
  // later when the audio started before the video).
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("00:00:0(\\d),(\\d{3}) --> 00:00:03"))) << text;
  const double cue = std::stoi(m[1]) + std::stoi(m[2]) / 1000.0;
  EXPECT_NEAR(cue - std::stod(video_stream(p).value("start_time", "0")), 2.0, 0.041) << text;
  EXPECT_EQ(p.at("chapters").size(), 2u);
  EXPECT_EQ(p.at("format").at("tags").value("title", ""), "A Test Film");
}

TEST(Fidelity, MatroskaKeepsSubtitlesAsTheyAreWithTrackTitles) {
  test::TempDir dir;
  const auto r = transcode(Inputs::get("rich.mkv"), dir / "film.mkv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json p = probe(dir / "film.mkv");
  EXPECT_NE(p.at("format").value("format_name", "").find("matroska"), std::string::npos)
      << "-o film.mkv is Matroska";
  const auto audio = streams_of(p, "audio");
  ASSERT_EQ(audio.size(), 2u);
  EXPECT_EQ(tag(audio[1], "title"), "Commentaire");
  const auto subs = streams_of(p, "subtitle");
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].value("codec_name", ""), "subrip");
  EXPECT_EQ(subs[1].value("codec_name", ""), "ass");
  EXPECT_EQ(tag(subs[1], "language"), "fra");
  EXPECT_NE(subtitle_text(dir / "film.mkv", 1).find("Deuxieme"), std::string::npos);
  EXPECT_EQ(p.at("chapters").size(), 2u);
  EXPECT_EQ(p.at("format").at("tags").value("title", ""), "A Test Film");
}

TEST(Fidelity, HlsCarriesEveryAudioLanguageAndWebVttRenditions) {
  test::TempDir dir;
  const auto r = transcode(Inputs::get("rich.mkv"), dir / "hls");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("chapters are dropped"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("play the first one only"), std::string::npos) << r.err;
  const auto audio = streams_of(probe(dir / "hls/segment_00000.ts"), "audio");
  ASSERT_EQ(audio.size(), 2u);
  EXPECT_EQ(tag(audio[0], "language"), "eng");
  EXPECT_EQ(tag(audio[1], "language"), "fra");
  std::ifstream master(dir / "hls/index.m3u8");
  const std::string text((std::istreambuf_iterator<char>(master)), {});
  EXPECT_NE(text.find("TYPE=SUBTITLES"), std::string::npos) << text;
  EXPECT_NE(text.find("LANGUAGE=\"fra\""), std::string::npos) << text;
  EXPECT_NE(text.find("SUBTITLES=\"subs\""), std::string::npos) << text;
  // The renditions hold the cues, at the input's times on the segments' timeline.
  const auto cues =
      test::run({"ffmpeg", "-v", "error", "-i", dir / "hls/index_sub0.vtt", "-f", "srt", "-"}).out;
  EXPECT_NE(cues.find("Hello there"), std::string::npos) << cues;
  // The video playlist plays on its own too.
  EXPECT_EQ(test::ffprobe_frames(dir / "hls/index_video.m3u8"), 100);
}

TEST(Fidelity, AudioTrackAndSubtitleSelection) {
  const std::string in = Inputs::get("rich.mkv");
  test::TempDir dir;
  auto r = transcode(in, dir / "fra.mkv", {"--audio-tracks", "fra", "--subtitles", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json p = probe(dir / "fra.mkv");
  ASSERT_EQ(streams_of(p, "audio").size(), 1u);
  EXPECT_EQ(tag(streams_of(p, "audio")[0], "language"), "fra");
  EXPECT_TRUE(streams_of(p, "subtitle").empty());
  r = transcode(in, dir / "first.mp4", {"--audio-tracks", "first"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(streams_of(probe(dir / "first.mp4"), "audio").size(), 1u);
  r = transcode(in, dir / "picked.mkv", {"--streams", "2,4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  p = probe(dir / "picked.mkv");
  ASSERT_EQ(streams_of(p, "audio").size(), 1u);
  EXPECT_EQ(streams_of(p, "audio")[0].value("codec_name", ""), "opus");
  ASSERT_EQ(streams_of(p, "subtitle").size(), 1u);
  EXPECT_EQ(streams_of(p, "subtitle")[0].value("codec_name", ""), "ass");
  r = transcode(in, dir / "bad.mkv", {"--streams", "9"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(Fidelity, FontAttachmentsGoIntoMatroskaAndAreDroppedWithAWarningElsewhere) {
  const std::string in = Inputs::get("attachment.mkv");
  test::TempDir dir;
  auto r = transcode(in, dir / "out.mkv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json p = probe(dir / "out.mkv");
  ASSERT_EQ(streams_of(p, "subtitle").size(), 1u);
  EXPECT_EQ(streams_of(p, "subtitle")[0].value("codec_name", ""), "ass");
  ASSERT_EQ(streams_of(p, "attachment").size(), 1u);
  EXPECT_EQ(tag(streams_of(p, "attachment")[0], "mimetype"), "application/x-truetype-font");
  EXPECT_EQ(tag(streams_of(p, "attachment")[0], "filename"), "font.ttf");
  r = transcode(in, dir / "out.mp4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("attachments (fonts) fit only Matroska"), std::string::npos) << r.err;
  EXPECT_EQ(streams_of(probe(dir / "out.mp4"), "subtitle").size(), 1u);
}

// FFmpeg has no way to make bitmap subtitles from text, so the decision is checked on a described input.
TEST(Fidelity, BitmapSubtitlesAreCopiedIntoMatroskaAndDroppedWithAWarningForMp4AndHls) {
  MediaInfo info;
  info.video_stream = 0;
  info.width = 320;
  info.height = 180;
  info.streams = {{.index = 0, .type = "video", .codec = "h264"},
                  {.index = 1, .type = "subtitle", .codec = "hdmv_pgs_subtitle", .language = "deu"}};
  info.streams[1].bitmap_subtitle = true;
  OutputChoices c;
  c.format = "mkv";
  OutputPlan p = plan_output(info, c);
  EXPECT_EQ(p.streams[1].action, "copy");
  EXPECT_TRUE(p.warnings.empty());
  for (const std::string format : {"mp4", "hls"}) {
    c.format = format;
    p = plan_output(info, c);
    EXPECT_EQ(p.streams[1].action, "drop") << format;
    ASSERT_EQ(p.warnings.size(), 1u) << format;
    EXPECT_NE(p.warnings[0].find("use .mkv to keep them"), std::string::npos) << p.warnings[0];
    EXPECT_EQ(expected_fidelity(info, p).subtitles->size(), 0u) << "verify must not expect what was dropped";
  }
}

TEST(Fidelity, DolbyVisionIsDroppedWithAWarningAndItsHdr10BaseKept) {
  MediaInfo info;
  info.video_stream = 0;
  info.width = 320;
  info.height = 180;
  info.bit_depth = 10;
  info.streams = {{.index = 0, .type = "video", .codec = "hevc"}};
  info.display.color_trc = 16;  // PQ
  info.display.dolby_vision = true;
  info.display.has_mastering = true;
  info.display.master_display = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)";
  OutputChoices c;
  c.format = "mkv";
  c.codec = "hevc";
  const OutputPlan p = plan_output(info, c);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("Dolby Vision metadata is dropped"), std::string::npos) << p.warnings[0];
  EXPECT_TRUE(p.video.keep_hdr_metadata);
  EXPECT_EQ(p.video.bit_depth, 10);
}

TEST(Fidelity, MovTextComesBackAsSrtInMatroska) {
  test::TempDir dir;
  auto r = transcode(Inputs::get("rich.mkv"), dir / "step.mp4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = transcode(dir / "step.mp4", dir / "back.mkv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto subs = streams_of(probe(dir / "back.mkv"), "subtitle");
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].value("codec_name", ""), "subrip");
  EXPECT_EQ(tag(subs[1], "language"), "fra");
  EXPECT_NE(subtitle_text(dir / "back.mkv", 0).find("Second line"), std::string::npos);
}

TEST(Fidelity, WebmRefusesH264ClearlyAndWritesNothing) {
  test::TempDir dir;
  const auto r = transcode(Inputs::get("anamorphic.mp4"), dir / "out.webm");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("WebM carries VP8, VP9 or AV1"), std::string::npos) << r.err;
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Fidelity, AnalyzeSaysWhatTranscodeDoesWithEachStream) {
  const auto r = test::run_pvt(
      {"analyze", Inputs::get("attachment.mkv"), "--json", "--format", "mp4", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  const auto& streams = j.at("output").at("streams");
  ASSERT_EQ(streams.size(), 3u);
  EXPECT_EQ(streams[0].at("action"), "encode");
  EXPECT_EQ(streams[1].at("action"), "convert");  // ASS into MP4: mov_text
  EXPECT_EQ(streams[1].at("output_codec"), "mov_text");
  EXPECT_EQ(streams[2].at("action"), "drop");  // the font
  EXPECT_NE(streams[2].at("reason").get<std::string>().find("Matroska"), std::string::npos);
  const auto text = test::run_pvt({"analyze", Inputs::get("rich.mkv")});
  EXPECT_NE(text.out.find("convert -> webvtt"), std::string::npos) << text.out;
}

// ---- Verify catches what was lost ----

TEST(Fidelity, VerifyNamesEveryLossAndFailsWithExitSix) {
  test::TempDir dir;
  const auto r = transcode(Inputs::get("rich.mkv"), dir / "out.mkv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  OutputExpectation e;
  e.frames = 100;
  e.duration_s = 4;
  e.tolerance_s = 0.04;
  e.fidelity.audio = std::vector<TrackExpectation>{{"aac", "eng"}, {"opus", "fra"}, {"aac", "deu"}};
  e.fidelity.chapters = 3;
  e.fidelity.bit_depth = 10;
  try {
    verify_output(dir / "out.mkv", e);
    FAIL() << "a loss passed verification";
  } catch (const Error& err) {
    EXPECT_EQ(err.code(), ErrorCode::kVerify);
    const std::string what = err.what();
    EXPECT_NE(what.find("audio tracks aac eng, opus fra, expected aac eng, opus fra, aac deu"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("2 chapters, the input has 3"), std::string::npos) << what;
    EXPECT_NE(what.find("8-bit video, expected 10-bit"), std::string::npos) << what;
    EXPECT_EQ(static_cast<int>(err.code()), 6);
  }
  // The same expectation met passes.
  e.fidelity.audio->pop_back();
  e.fidelity.chapters = 2;
  e.fidelity.bit_depth = 8;
  EXPECT_NO_THROW(verify_output(dir / "out.mkv", e));
}

TEST(Fidelity, SharedTenBitHevcClipStaysTenBitWithHevc) {
  const auto path = test::shared_clip("bbb_hevc10.mkv");
  if (!path) GTEST_SKIP() << "shared clip bbb_hevc10.mkv not found in " << test::shared_media_dir();
  test::TempDir dir;
  const auto r = transcode(*path, dir / "out.mkv", {"--codec", "hevc", "--segment-duration", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(first_frame(dir / "out.mkv").value("pix_fmt", ""), "yuv420p10le");
  EXPECT_EQ(streams_of(probe(dir / "out.mkv"), "audio").at(0).value("codec_name", ""), "opus");
}

}  // namespace
}  // namespace pvt
