// `pvt transcode` end to end on generated clips: frame-accurate cuts, forced IDRs at scene cuts, MP4
// and HLS outputs that ffprobe reads, quality, bitrate mode, progress and the JSON summary.
#include <gtest/gtest.h>

#include <map>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "test_support.hpp"

namespace pvt {
namespace {

nlohmann::json transcode_json(const std::vector<std::string>& args,
                              const std::vector<std::string>& env = {}) {
  std::vector<std::string> full{"transcode"};
  full.insert(full.end(), args.begin(), args.end());
  full.insert(full.end(), {"--json", "--progress", "none"});
  const auto r = test::run_pvt(full, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return {};
  return nlohmann::json::parse(r.out);
}

TEST(TranscodeIntegration, Mp4HasEveryFrameAndIdrsAtEveryCutBetweenKeyframes) {
  test::TempDir dir;
  const std::string out = dir / "out.mp4";
  const std::string in = test::scene_clip();
  // Segments of ~2 s: every boundary lies between source keyframes, so workers seek, decode and drop.
  const auto j = transcode_json({in, "-o", out, "--segment-duration", "2", "--preset", "veryfast"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j.at("frames"), 200);
  EXPECT_GE(j.at("segments").size(), 3u);
  EXPECT_EQ(test::ffprobe_frames(out), 200);
  EXPECT_NEAR(test::ffprobe_duration(out), 8.0, 0.04 + 1e-6);
  const auto keys = test::ffprobe_keyframes(out);
  ASSERT_EQ(keys.size(), 200u);
  for (int cut : test::kSceneClipCuts) EXPECT_TRUE(keys[cut]) << "no IDR at scene cut " << cut;
  for (const auto& s : j.at("segments")) EXPECT_TRUE(keys[s.at("start_frame").get<int>()]);
  EXPECT_GT(test::psnr(out, in), 33.0);                           // plain ffmpeg, same settings: 34.7 dB
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.mp4"});  // no work files left
}

TEST(TranscodeIntegration, PrerollFramesAreEncodedButNotKept) {
  // Pre-roll: each segment's first frames are encoded once ahead of it and dropped. The output must
  // still hold exactly the input's frames, with an IDR at every segment's start, and differ from an
  // encode without pre-roll (the rate control started elsewhere).
  test::TempDir dir;
  const std::string in = test::scene_clip();
  std::string bytes[2];
  for (int preroll : {0, 8}) {
    const std::string out = dir / ("p" + std::to_string(preroll) + ".mp4");
    const auto j = transcode_json({in, "-o", out, "--segment-duration", "2", "--preset", "veryfast",
                                   "--preroll", std::to_string(preroll), "--workers", "2"});
    ASSERT_FALSE(j.is_null());
    ASSERT_GE(j.at("segments").size(), 3u);
    EXPECT_EQ(test::ffprobe_frames(out), 200) << "preroll " << preroll;
    EXPECT_NEAR(test::ffprobe_duration(out), 8.0, 0.04 + 1e-6);
    const auto keys = test::ffprobe_keyframes(out);
    ASSERT_EQ(keys.size(), 200u);
    for (const auto& s : j.at("segments")) EXPECT_TRUE(keys[s.at("start_frame").get<int>()]);
    EXPECT_EQ(test::ffprobe_stream(out, "v:0", "start_time").substr(0, 5), "0.000");
    std::ifstream f(out, std::ios::binary);
    bytes[preroll ? 1 : 0].assign(std::istreambuf_iterator<char>(f), {});
    EXPECT_GT(test::psnr(out, in), 33.0);
  }
  EXPECT_NE(bytes[0], bytes[1]);
}

TEST(TranscodeIntegration, WorkersForceIdrsAtCutsTheyFindInsideASegment) {
  test::TempDir dir;
  const std::string out = dir / "one.m3u8";
  // One 8 s HLS segment: the three cuts are inside it and only the worker's own kernels can find them.
  const auto j =
      transcode_json({test::scene_clip(), "-o", out, "--segment-duration", "20", "--preset", "ultrafast"});
  ASSERT_FALSE(j.is_null());
  ASSERT_EQ(j.at("segments").size(), 1u);
  EXPECT_EQ(j.at("segments")[0].at("detected_cuts"), 3);
  const auto keys = test::ffprobe_keyframes(out);
  ASSERT_EQ(keys.size(), 200u);
  for (int cut : test::kSceneClipCuts) EXPECT_TRUE(keys[cut]) << cut;
}

TEST(TranscodeIntegration, FullAnalysisPlansAtSceneCuts) {
  test::TempDir dir;
  const std::string out = dir / "full.mp4";
  const auto j = transcode_json({test::scene_clip(), "-o", out, "--analysis", "full", "--segment-duration",
                                 "2", "--workers", "2", "--preset", "ultrafast"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j.at("plan_basis"), "analysis");
  // Every scene cut starts a segment; the cost balance may split the heavy last scene once more, and
  // evening out the last wave adds at most one cut per worker.
  std::map<int, std::string> starts;
  for (const auto& s : j.at("segments")) starts[s.at("start_frame")] = s.at("starts_at");
  for (int cut : test::kSceneClipCuts) EXPECT_EQ(starts[cut], "scene") << cut;
  EXPECT_LE(starts.size(), 7u);
  EXPECT_EQ(test::ffprobe_frames(out), 200);
}

std::vector<std::pair<double, std::string>> read_playlist(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<std::pair<double, std::string>> entries;
  double pending = -1;
  bool endlist = false;
  while (std::getline(in, line)) {
    if (line.rfind("#EXTINF:", 0) == 0)
      pending = std::atof(line.c_str() + 8);
    else if (!line.empty() && line[0] != '#')
      entries.emplace_back(pending, line);
    else if (line == "#EXT-X-ENDLIST")
      endlist = true;
  }
  EXPECT_TRUE(endlist);
  return entries;
}

TEST(TranscodeIntegration, HlsPlaylistSegmentsMatchTheMedia) {
  test::TempDir dir;
  const std::string out = dir / "hls";
  const std::string in = test::scene_clip(true);
  const auto j = transcode_json({in, "-o", out, "--segment-duration", "2", "--preset", "veryfast"});
  ASSERT_FALSE(j.is_null());
  const std::string playlist = out + "/index.m3u8";
  EXPECT_EQ(j.at("output"), playlist);
  const auto entries = read_playlist(playlist);
  ASSERT_GE(entries.size(), 3u);
  double total = 0;
  for (const auto& [extinf, name] : entries) {
    const std::string seg = out + "/" + name;
    ASSERT_TRUE(std::filesystem::exists(seg)) << name;
    // Each segment's video lasts what the playlist says (ffprobe measures the TS on its own).
    const double frames = static_cast<double>(test::ffprobe_frames(seg));
    EXPECT_NEAR(frames / 25.0, extinf, 1e-3) << name;
    EXPECT_EQ(test::ffprobe_stream(seg, "a:0", "codec_name"), "aac") << name;
    total += extinf;
  }
  EXPECT_NEAR(total, 8.0, 1e-3);
  EXPECT_EQ(test::ffprobe_frames(playlist), 200);
  EXPECT_GT(test::psnr(playlist, in), 33.0);
  // The playlist declares a target duration no segment exceeds (rounded).
  std::ifstream pin(playlist);
  std::stringstream ss;
  ss << pin.rdbuf();
  std::smatch m;
  const std::string text = ss.str();
  ASSERT_TRUE(std::regex_search(text, m, std::regex("#EXT-X-TARGETDURATION:(\\d+)")));
  for (const auto& e : entries) EXPECT_LE(std::lround(e.first), std::stoi(m[1]));
}

TEST(TranscodeIntegration, HlsGroupsPlaylistSegmentsIntoFewerWorkerTasks) {
  // About 16 playlist segments of 0.5 s on 2 workers: 10 work segments, each forcing an IDR at the playlist
  // boundaries inside it. The playlist must be the one a task per playlist segment makes: the same
  // durations, every segment starting on a keyframe, with its audio.
  test::TempDir dir;
  const std::string in = test::scene_clip(true);
  std::vector<std::pair<double, std::string>> lists[2];
  for (int grouped : {1, 0}) {
    const std::string out = dir / ("h" + std::to_string(grouped));
    std::vector<std::string> args{in,          "-o",        out, "--segment-duration", "0.5", "--preset",
                                  "ultrafast", "--workers", "2"};
    if (!grouped) args.push_back("--task-per-playlist-segment");
    const auto j = transcode_json(args);
    ASSERT_FALSE(j.is_null());
    lists[grouped] = read_playlist(out + "/index.m3u8");
    EXPECT_EQ(j.at("segments").size(), grouped ? 10u : lists[grouped].size());
    EXPECT_EQ(test::ffprobe_frames(out + "/index.m3u8"), 200);
    for (const auto& [extinf, name] : lists[grouped]) {
      const std::string seg = out + "/" + name;
      const auto keys = test::ffprobe_keyframes(seg);
      ASSERT_FALSE(keys.empty()) << name;
      EXPECT_TRUE(keys.front()) << name << " does not start on a keyframe";
      EXPECT_NEAR(static_cast<double>(keys.size()) / 25.0, extinf, 1e-3) << name;
      EXPECT_EQ(test::ffprobe_stream(seg, "a:0", "codec_name"), "aac") << name;
    }
  }
  ASSERT_GT(lists[1].size(), 10u);  // about 16: the scene cuts move some boundaries
  ASSERT_EQ(lists[0].size(), lists[1].size());
  for (std::size_t i = 0; i < lists[0].size(); ++i) {
    EXPECT_NEAR(lists[1][i].first, lists[0][i].first, 1e-6) << i;
    EXPECT_EQ(lists[1][i].second, lists[0][i].second);
  }
}

TEST(TranscodeIntegration, OverwritingHlsRemovesSegmentsTheNewPlaylistDoesNotList) {
  test::TempDir dir;
  const std::string out = dir / "h";
  ASSERT_FALSE(
      transcode_json({test::scene_clip(), "-o", out, "--segment-duration", "2", "--preset", "ultrafast"})
          .is_null());
  ASSERT_TRUE(std::filesystem::exists(out + "/segment_00003.ts"));
  { std::ofstream(out + "/notes.txt") << "mine"; }
  ASSERT_FALSE(transcode_json({test::scene_clip(), "-o", out, "--segment-duration", "8", "--preset",
                               "ultrafast", "--overwrite"})
                   .is_null());
  EXPECT_TRUE(std::filesystem::exists(out + "/segment_00000.ts"));
  EXPECT_FALSE(std::filesystem::exists(out + "/segment_00001.ts"));
  EXPECT_TRUE(std::filesystem::exists(out + "/notes.txt"));  // not ours: left alone
  EXPECT_EQ(test::ffprobe_frames(out + "/index.m3u8"), 200);
}

TEST(TranscodeIntegration, M3u8OutputPathPutsSegmentsBesideIt) {
  test::TempDir dir;
  const auto j = transcode_json({test::scene_clip(), "-o", dir / "show.m3u8", "--preset", "ultrafast"});
  ASSERT_FALSE(j.is_null());
  EXPECT_TRUE(std::filesystem::exists(dir / "show_00000.ts"));
  EXPECT_EQ(test::ffprobe_frames(dir / "show.m3u8"), 200);
}

TEST(TranscodeIntegration, AudioIsEncodedOnceAndKeptInSync) {
  test::TempDir dir;
  const std::string out = dir / "av.mp4";
  const auto j = transcode_json({test::scene_clip(true), "-o", out, "--segment-duration", "2", "--audio",
                                 "aac", "--preset", "ultrafast"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j.at("audio"), "aac (encoded)");
  EXPECT_EQ(test::ffprobe_stream(out, "a:0", "codec_name"), "aac");
  const double vstart = std::atof(test::ffprobe_stream(out, "v:0", "start_time").c_str());
  const double astart = std::atof(test::ffprobe_stream(out, "a:0", "start_time").c_str());
  EXPECT_NEAR(astart, vstart, 0.03);
  EXPECT_NEAR(std::atof(test::ffprobe_stream(out, "a:0", "duration").c_str()), 8.0, 0.05);
}

TEST(TranscodeIntegration, AudioCanBeCopiedOrLeftOut) {
  test::TempDir dir;
  // The scene clip's audio is AAC: auto copies it, none drops it (and verification then expects none).
  const auto copied =
      transcode_json({test::scene_clip(true), "-o", dir / "copy.mp4", "--preset", "ultrafast"});
  ASSERT_FALSE(copied.is_null());
  EXPECT_EQ(copied.at("audio"), "aac (copied)");
  EXPECT_EQ(test::ffprobe_stream(dir / "copy.mp4", "a:0", "codec_name"), "aac");
  const auto none = transcode_json(
      {test::scene_clip(true), "-o", dir / "none.mp4", "--audio", "none", "--preset", "ultrafast"});
  ASSERT_FALSE(none.is_null());
  EXPECT_EQ(none.at("audio"), "none");
  EXPECT_EQ(test::ffprobe_stream(dir / "none.mp4", "a:0", "codec_name"), "");
  EXPECT_EQ(test::ffprobe_frames(dir / "none.mp4"), 200);
}

TEST(TranscodeIntegration, KeepWorkLeavesDescriptorsSegmentsAndLogs) {
  test::TempDir dir;
  ASSERT_FALSE(
      transcode_json({test::scene_clip(), "-o", dir / "k.mp4", "--keep-work", "--preset", "ultrafast"})
          .is_null());
  int descriptors = 0, segments = 0;
  for (const auto& e : dir.entries()) {
    if (e != ".k.mp4.pvt-job") continue;
    EXPECT_TRUE(std::filesystem::exists(dir.path() / e / "job.json"));
    for (const auto& f : std::filesystem::directory_iterator(dir.path() / e)) {
      const std::string name = f.path().filename().string();
      descriptors += name.size() > 10 && name.substr(name.size() - 10) == ".task.json";
      segments += name.rfind("seg_", 0) == 0 && f.path().extension() == ".mp4";
    }
  }
  EXPECT_GT(descriptors, 0);
  EXPECT_EQ(descriptors, segments);
}

TEST(TranscodeIntegration, SegmentBoundsAreOptions) {
  test::TempDir dir;
  // HLS keeps the user's lengths: 8 s with segments of at most 3 s needs at least three.
  const auto j =
      transcode_json({test::scene_clip(), "-o", dir / "b", "--segment-duration", "3", "--max-segment", "3",
                      "--min-segment", "1", "--preset", "ultrafast", "--threads-per-worker", "2"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j.at("threads_per_worker"), 2);
  EXPECT_GE(j.at("segments").size(), 3u);
  for (const auto& s : j.at("segments")) {
    EXPECT_LE(s.at("duration").get<double>(), 3.0 + 1e-6);
    EXPECT_GE(s.at("duration").get<double>(), 1.0 - 1e-6);
  }
}

TEST(TranscodeIntegration, BitrateModeHitsTheTargetWithinFivePercent) {
  test::TempDir dir;
  const std::string out = dir / "cbr.mp4";
  const auto j = transcode_json({test::scene_clip(), "-o", out, "--bitrate", "600k", "--segment-duration",
                                 "2", "--preset", "veryfast"});
  ASSERT_FALSE(j.is_null());
  const double measured = std::atof(test::ffprobe_stream(out, "v:0", "bit_rate").c_str());
  EXPECT_NEAR(measured / 600000.0, 1.0, 0.05) << measured;
  EXPECT_NEAR(j.at("video_bitrate").get<double>() / 600000.0, 1.0, 0.05);
}

TEST(TranscodeIntegration, ProgressJsonLinesAndSummary) {
  test::TempDir dir;
  const auto r = test::run_pvt(
      {"transcode", test::scene_clip(), "-o", dir / "p.mp4", "--progress", "json", "--preset", "ultrafast"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::stringstream ss(r.err);
  std::string line;
  long last_frames = -1;
  int lines = 0;
  bool saw_encode = false;
  while (std::getline(ss, line)) {
    const auto j = nlohmann::json::parse(line);  // every stderr line is JSON
    ++lines;
    saw_encode |= j.at("stage") == "encode";
    EXPECT_EQ(j.at("total_frames"), 200);
    last_frames = j.at("frames");
  }
  EXPECT_GE(lines, 2);
  EXPECT_TRUE(saw_encode);
  EXPECT_EQ(last_frames, 200);
  EXPECT_NE(r.out.find("verified 200 frames"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("real time"), std::string::npos);
}

TEST(TranscodeIntegration, RefusesToOverwriteWithoutTheFlag) {
  test::TempDir dir;
  const std::string out = dir / "x.mp4";
  { std::ofstream(out) << "precious"; }
  const auto r = test::run_pvt({"transcode", test::scene_clip(), "-o", out, "--progress", "none"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  std::ifstream in(out);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
  const auto ok = test::run_pvt({"transcode", test::scene_clip(), "-o", out, "--overwrite", "--progress",
                                 "none", "--preset", "ultrafast"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(test::ffprobe_frames(out), 200);
}

// The picture hashes of every decoded frame, in output order (timestamps left out: a raw stream has
// none of its own).
std::vector<std::string> picture_hashes(const std::string& path) {
  const auto r =
      test::run({"ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-f", "framemd5", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> hashes;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '#') hashes.push_back(line.substr(line.rfind(',') + 1));
  return hashes;
}

TEST(TranscodeIntegration, RawMpeg2StreamWithBFramesIsCutFrameAccurately) {
  // An MPEG-2 elementary stream has decode timestamps but no presentation ones, and its decoder holds a
  // frame back: the index and the workers' decoders used to disagree by one frame, and the last frame
  // had no timestamp ("got 50 of 51 frames"). Lossless x264 (crf 0) makes every frame comparable.
  test::TempDir dir;
  const std::string in = dir / "clip.m2v";
  const auto made = test::run({"ffmpeg", "-v", "error", "-i", test::scene_clip(), "-c:v", "mpeg2video",
                               "-q:v", "3", "-bf", "2", "-g", "15", "-f", "mpeg2video", in});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string out = dir / "out.mp4";
  const auto j = transcode_json(
      {in, "-o", out, "--segment-duration", "1", "--crf", "0", "--preset", "ultrafast", "--workers", "2"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j.at("frames"), 200);
  EXPECT_GE(j.at("segments").size(), 6u);
  const auto source = picture_hashes(in);
  ASSERT_EQ(source.size(), 200u);
  EXPECT_EQ(picture_hashes(out), source);
}

}  // namespace
}  // namespace pvt
