// DASH (`--format dash|hls+dash`): the manifest over the same CMAF segments as the HLS ladder, checked
// against the files themselves (ffprobe of each rung, the segments' own sizes, the HLS EXTINF lists), read
// back by FFmpeg's DASH reader, and the usage errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "test_support.hpp"

namespace pvt {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// One element's attributes (name="value").
std::map<std::string, std::string> attributes(const std::string& element) {
  std::map<std::string, std::string> out;
  const std::regex attr(R"re(([A-Za-z]+)="([^"]*)")re");
  for (auto it = std::sregex_iterator(element.begin(), element.end(), attr); it != std::sregex_iterator();
       ++it)
    out[(*it)[1]] = (*it)[2];
  return out;
}

struct Representation {
  std::map<std::string, std::string> attrs, segment_template;
  std::string content_type;
  std::vector<std::int64_t> durations;  // the SegmentTimeline's, expanded (r repeats)
};

// The MPD's representations in order, each with its set's content type. A regex reading of a flat
// document pvt writes itself; FFmpeg's DASH reader below is the independent one.
std::vector<Representation> representations(const std::string& mpd) {
  std::vector<Representation> out;
  const std::regex tag(R"re(<(/?)(AdaptationSet|Representation|SegmentTemplate|S)\b([^>]*)>)re");
  std::string content_type;
  for (auto it = std::sregex_iterator(mpd.begin(), mpd.end(), tag); it != std::sregex_iterator(); ++it) {
    if ((*it)[1] == "/") continue;
    const std::string name = (*it)[2];
    const auto a = attributes((*it)[3]);
    if (name == "AdaptationSet") content_type = a.count("contentType") ? a.at("contentType") : "";
    if (name == "Representation") out.push_back({a, {}, content_type, {}});
    if (name == "SegmentTemplate" && !out.empty()) out.back().segment_template = a;
    if (name == "S" && !out.empty()) {
      const int repeat = a.count("r") ? std::stoi(a.at("r")) : 0;
      for (int i = 0; i <= repeat; ++i) out.back().durations.push_back(std::stoll(a.at("d")));
    }
  }
  return out;
}

std::vector<double> extinf(const std::string& playlist) {
  std::vector<double> out;
  std::istringstream in(slurp(playlist));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("#EXTINF:", 0) == 0) out.push_back(std::stod(line.substr(8)));
  return out;
}

TEST(Dash, TheManifestDescribesEveryRungAndTheAudioAsTheFilesAre) {
  test::TempDir dir;
  const std::string out = dir / "set";
  const auto r =
      test::run_pvt({"transcode", test::scene_clip(true), "-o", out, "--ladder", "240,160", "--format",
                     "hls+dash", "--segment-duration", "2", "--preset", "ultrafast", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(out + "/master.m3u8"));
  const std::string mpd = out + "/manifest.mpd";
  const std::string text = slurp(mpd);
  EXPECT_NE(text.find("type=\"static\""), std::string::npos);
  const auto reps = representations(text);
  ASSERT_EQ(reps.size(), 3u) << text;
  const std::vector<std::string> rungs{"index_240p.m3u8", "index_160p.m3u8"};
  for (std::size_t i = 0; i < reps.size(); ++i) {
    const auto& rep = reps[i];
    SCOPED_TRACE(rep.attrs.at("id"));
    const bool video = i < 2;
    EXPECT_EQ(rep.content_type, video ? "video" : "audio");
    const auto& st = rep.segment_template;
    const std::string prefix = video ? "index_r" + std::to_string(i) + "_" : "index_a0_";
    EXPECT_EQ(st.at("initialization"), prefix + "init.mp4");
    EXPECT_EQ(st.at("media"), prefix + "$Number%05d$.m4s");
    ASSERT_TRUE(std::filesystem::exists(out + "/" + st.at("initialization")));
    // Every segment the timeline numbers exists, the timeline lasts as long as the HLS playlist's EXTINFs
    // (within a frame), segment by segment, and the bandwidth is at least the segments' mean rate.
    const auto hls = extinf(out + "/" + (video ? rungs[i] : "index_audio0.m3u8"));
    ASSERT_EQ(rep.durations.size(), hls.size());
    const double timescale = std::stod(st.at("timescale"));
    double bytes = 0, seconds = 0;
    for (std::size_t s = 0; s < hls.size(); ++s) {
      char name[32];
      std::snprintf(name, sizeof name, "%05zu.m4s", s);
      const std::string file = out + "/" + prefix + name;
      ASSERT_TRUE(std::filesystem::exists(file)) << file;
      bytes += static_cast<double>(std::filesystem::file_size(file));
      seconds += hls[s];
      // The last audio segment runs to the audio's own end, which may differ from the video's by a frame.
      const double tolerance = video ? 0.041 : 0.1;
      EXPECT_NEAR(static_cast<double>(rep.durations[s]) / timescale, hls[s], tolerance) << "segment " << s;
    }
    EXPECT_GE(std::stod(rep.attrs.at("bandwidth")), 0.9 * bytes * 8 / seconds);
    if (video) {
      const std::string playlist = out + "/" + rungs[i];
      EXPECT_EQ(rep.attrs.at("width"), test::ffprobe_stream(playlist, "v:0", "width"));
      EXPECT_EQ(rep.attrs.at("height"), test::ffprobe_stream(playlist, "v:0", "height"));
      EXPECT_EQ(rep.attrs.at("frameRate"), "25");
      EXPECT_EQ(rep.attrs.at("codecs").rfind("avc1.", 0), 0u) << rep.attrs.at("codecs");
    } else {
      EXPECT_EQ(rep.attrs.at("codecs"), "mp4a.40.2");
      EXPECT_EQ(rep.attrs.at("audioSamplingRate"),
                test::ffprobe_stream(out + "/index_audio0.m3u8", "a:0", "sample_rate"));
    }
  }
  // One instant maps onto the period start for all: the offsets agree in seconds.
  const double v0 = std::stod(reps[0].segment_template.at("presentationTimeOffset")) /
                    std::stod(reps[0].segment_template.at("timescale"));
  const double a0 = std::stod(reps[2].segment_template.at("presentationTimeOffset")) /
                    std::stod(reps[2].segment_template.at("timescale"));
  EXPECT_NEAR(v0, a0, 1e-3);
  // FFmpeg's DASH reader finds both rungs with every frame.
  for (const char* stream : {"0", "1"}) {
    const auto probe =
        test::run({"ffprobe", "-v", "error", "-count_packets", "-select_streams", stream, "-show_entries",
                   "stream=codec_type,nb_read_packets", "-of", "csv=p=0", mpd});
    EXPECT_NE(probe.out.find("video,200"), std::string::npos) << stream << ": " << probe.out << probe.err;
  }
}

TEST(Dash, DashAloneWritesTheManifestAndNoPlaylistsAndRefusesTsSegments) {
  test::TempDir dir;
  const std::string out = dir / "only.mpd";
  const auto r = test::run_pvt({"transcode", test::scene_clip(true), "-o", out, "--preset", "ultrafast",
                                "--segment-duration", "2", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(out));
  std::vector<std::string> playlists;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().extension() == ".m3u8") playlists.push_back(e.path().filename().string());
  EXPECT_TRUE(playlists.empty()) << playlists.front();
  const auto reps = representations(slurp(out));
  ASSERT_EQ(reps.size(), 2u);  // the video at the source's size, and the audio
  EXPECT_EQ(reps[0].attrs.at("width"), "320");
  EXPECT_TRUE(std::filesystem::exists(dir / ("only_r0_" + std::string("00000.m4s"))));

  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--format", "dash", "--segment-type", "ts", "-o", dir / "ts"},
        std::vector<std::string>{"--format", "hls", "-o", dir / "x.mpd"}}) {
    std::vector<std::string> args{"transcode", test::scene_clip(), "--progress", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto bad = test::run_pvt(args);
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
    EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  }
}

// A subtitle track is a text AdaptationSet naming its WebVTT file, which holds the cues, even with no HLS
// (DASH alone publishes no subtitle playlist).
TEST(Dash, ASubtitleTrackIsAWebVttTextSet) {
  test::TempDir dir;
  const std::string srt = dir / "subs.srt";
  std::ofstream(srt) << "1\n00:00:00,500 --> 00:00:01,500\nHello there\n\n";
  const std::string in = dir / "subtitled.mkv";
  ASSERT_EQ(test::run({"ffmpeg",
                       "-v",
                       "error",
                       "-y",
                       "-f",
                       "lavfi",
                       "-i",
                       "testsrc2=s=320x180:r=25:d=3",
                       "-i",
                       srt,
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
                       "-metadata:s:s:0",
                       "language=eng",
                       in})
                .exit_code,
            0);
  const std::string out = dir / "sub.mpd";
  const auto r = test::run_pvt({"transcode", in, "-o", out, "--preset", "ultrafast", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = slurp(out);
  const std::regex set(R"re(<AdaptationSet [^>]*contentType="text" mimeType="text/vtt" lang="eng">)re");
  EXPECT_TRUE(std::regex_search(text, set)) << text;
  std::smatch file;
  ASSERT_TRUE(std::regex_search(text, file, std::regex("<BaseURL>([^<]+)</BaseURL>"))) << text;
  EXPECT_NE(slurp(dir / file[1].str()).find("Hello there"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "sub_sub0.m3u8"));
}

// An overwrite with fewer segments leaves none of the earlier run's audio segments behind (the rungs'
// were already covered): a player would never ask for them, but they would be stale files in the set.
TEST(Dash, AnOverwriteLeavesNoStaleAudioSegments) {
  test::TempDir dir;
  const std::string out = dir / "set";
  auto run = [&](const char* seconds, bool overwrite) {
    std::vector<std::string> args{"transcode",
                                  test::scene_clip(true),
                                  "-o",
                                  out,
                                  "--ladder",
                                  "160",
                                  "--segment-duration",
                                  seconds,
                                  "--preset",
                                  "ultrafast",
                                  "--progress",
                                  "none"};
    if (overwrite) args.push_back("--overwrite");
    const auto r = test::run_pvt(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  auto audio_segments = [&] {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(out))
      if (e.path().filename().string().rfind("index_a0_0", 0) == 0) ++n;
    return n;
  };
  run("1", false);
  const int before = audio_segments();
  run("4", true);
  EXPECT_EQ(audio_segments(), static_cast<int>(extinf(out + "/index_audio0.m3u8").size()));
  EXPECT_LT(audio_segments(), before);
}

}  // namespace
}  // namespace pvt
