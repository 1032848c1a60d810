// Target quality end to end: `pvt transcode --target-quality` on a clip whose segments differ (static,
// high-motion, noisy), each segment's score checked against ffmpeg's own ssim filter on the output; the
// re-encode path (a probe sample made to misjudge by a test hook); the probe cache reused by a rerun and
// by a changed target; and the one-line refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "av_handles.hpp"
#include "segment_descriptor.hpp"
#include "segment_worker.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

// 9 s at 25 fps, 320x240: 3 s of still bars (a little grain), 3 s of a moving test pattern, 3 s of it under
// heavy noise, a keyframe every 75 frames, so 3-s segments fall on the scene changes.
const std::string& varied_clip() {
  static test::TempDir dir;
  static const std::string path = [] {
    const std::string p = dir / "varied.mp4";
    const std::string graph =
        "smptebars=s=320x240:r=25:d=3,noise=alls=6:allf=t[a];testsrc2=s=320x240:r=25:d=3[b];"
        "testsrc2=s=320x240:r=25:d=3,noise=alls=30:allf=t+u[c];[a][b][c]concat=n=3:v=1[v]";
    const auto r =
        test::run({"ffmpeg", "-v", "error", "-y", "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264",
                   "-preset", "veryfast", "-crf", "12", "-g", "75", "-pix_fmt", "yuv420p", p});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return p;
  }();
  return path;
}

nlohmann::json run_json(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), "transcode");
  args.insert(args.end(), {"--json", "--progress", "none", "-y"});
  const auto r = test::run_pvt(args, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return {};
  return nlohmann::json::parse(r.out);
}

// ffmpeg's per-frame scores of `out` against `in`, in frame order, from the stats file of its `ssim`
// ("All:") or `psnr` ("psnr_avg:"; identical frames count as 100 dB, as in pvt) filter.
std::vector<double> ffmpeg_scores(const std::string& metric, const std::string& out, const std::string& in,
                                  const std::string& stats) {
  const auto r = test::run({"ffmpeg", "-hide_banner", "-nostats", "-i", out, "-i", in, "-lavfi",
                            "[0:v][1:v]" + metric + "=stats_file=" + stats, "-f", "null", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::regex score(metric == "psnr" ? "psnr_avg:([0-9.]+|inf)" : "All:([0-9.]+)");
  std::vector<double> v;
  std::ifstream f(stats);
  for (std::string line; std::getline(f, line);) {
    std::smatch m;
    if (std::regex_search(line, m, score)) v.push_back(m[1] == "inf" ? 100.0 : std::stod(m[1]));
  }
  return v;
}

std::vector<std::string> base_args(const std::string& out, const std::string& cache) {
  return {varied_clip(), "-o",
          out,           "--preset",
          "veryfast",    "--segment-duration",
          "3",           "--workers",
          "2",           "--threads-per-worker",
          "1",           "--target-quality",
          "0.97",        "--metric",
          "ssim",        "--probe-cache",
          cache};
}

TEST(TargetQuality, EverySegmentReachesTheTargetAsFfmpegMeasuresIt) {
  test::TempDir dir;
  const std::string out = dir / "out.mp4";
  auto args = base_args(out, dir / "cache");
  args.insert(args.end(), {"--timeline", dir / "timeline.svg"});
  const auto j = run_json(args);
  ASSERT_FALSE(j.is_null());
  // The timeline's tooltips carry each segment's CRF and score.
  std::ifstream svg(dir / "timeline.svg");
  const std::string picture((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  EXPECT_NE(picture.find(", CRF "), std::string::npos);
  EXPECT_NE(picture.find("ssim 0.9"), std::string::npos);
  const auto& tq = j.at("target_quality");
  ASSERT_FALSE(tq.is_null());
  EXPECT_EQ(tq.at("metric"), "ssim");
  EXPECT_DOUBLE_EQ(tq.at("tolerance").get<double>(), 0.002);
  const auto frames = ffmpeg_scores("ssim", out, varied_clip(), dir / "ssim.log");
  ASSERT_EQ(frames.size(), 225u);
  ASSERT_GE(j.at("segments").size(), 3u);
  std::vector<double> crfs;
  for (const auto& s : j.at("segments")) {
    const auto& q = s.at("quality");
    ASSERT_FALSE(q.is_null());
    const double score = q.at("score").get<double>();
    EXPECT_NEAR(score, 0.97, 0.002) << "segment " << s.at("index");
    EXPECT_TRUE(q.at("within_tolerance").get<bool>());
    EXPECT_GE(q.at("probes").size(), 1u);
    EXPECT_LE(q.at("probes").size(), 4u);
    // The score pvt reports is the file's: ffmpeg's ssim over the segment's frames agrees.
    const int first = s.at("start_frame"), n = s.at("frames");
    double sum = 0;
    for (int f = first; f < first + n; ++f) sum += frames[f];
    EXPECT_NEAR(sum / n, score, 2e-4) << "segment " << s.at("index");
    crfs.push_back(q.at("crf").get<double>());
  }
  // Still bars take a far higher CRF than noise for the same SSIM.
  EXPECT_GT(*std::max_element(crfs.begin(), crfs.end()) - *std::min_element(crfs.begin(), crfs.end()), 4.0);
  EXPECT_EQ(tq.at("segments_within_tolerance"), j.at("segments").size());
  EXPECT_NEAR(tq.at("fixed_crf_for_the_same_worst_segment").get<double>(),
              *std::min_element(crfs.begin(), crfs.end()), 1e-9);
}

// The same search with SVT-AV1 (CRF on x264's scale, mapped onto SVT's 0-63): the still and the moving
// segments reach the target, the noisy one may need more than the CRF range allows and then says so; the
// scores are the file's, as ffmpeg's ssim measures the Matroska output.
TEST(TargetQuality, AnAv1TargetIsReachedOrTheRangeSaysWhyAsFfmpegMeasuresIt) {
  test::TempDir dir;
  const std::string out = dir / "out.mkv";
  auto args = base_args(out, dir / "cache");
  args.insert(args.end(), {"--codec", "av1"});
  const auto j = run_json(args);
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j.at("encoder"), "svtav1");
  const auto frames = ffmpeg_scores("ssim", out, varied_clip(), dir / "ssim.log");
  ASSERT_EQ(frames.size(), 225u);
  int within = 0;
  for (const auto& s : j.at("segments")) {
    const auto& q = s.at("quality");
    ASSERT_FALSE(q.is_null());
    const double score = q.at("score").get<double>();
    if (q.at("within_tolerance").get<bool>()) {
      ++within;
      EXPECT_NEAR(score, 0.97, 0.002) << "segment " << s.at("index");
    } else {
      EXPECT_TRUE(q.at("limited_by_range").get<bool>()) << "segment " << s.at("index") << ": " << q;
      EXPECT_LT(score, 0.97) << "only a segment short of the target is limited by the range's low end";
      EXPECT_DOUBLE_EQ(q.at("crf").get<double>(), 10.0);
    }
    const int first = s.at("start_frame"), n = s.at("frames");
    double sum = 0;
    for (int f = first; f < first + n; ++f) sum += frames[f];
    EXPECT_NEAR(sum / n, score, 2e-4) << "segment " << s.at("index");
  }
  EXPECT_GE(within, 2) << "the still and the moving segments";
  EXPECT_EQ(j.at("target_quality").at("segments_within_tolerance"), within);
}

// A segment short enough to be probed whole is probed exactly as its final encode is made (pre-roll
// included): a probe at the final's CRF scores what the final scored, bit for bit the same encode.
TEST(TargetQuality, ASegmentProbedWholeScoresAtAProbesCrfWhatItsFinalScored) {
  test::TempDir dir;
  const auto first = run_json(base_args(dir / "a.mp4", dir / "cache-a"));
  ASSERT_FALSE(first.is_null());
  int segment = -1;
  for (const auto& s : first.at("segments")) {
    const auto& q = s.at("quality");
    // 96 frames at most are probed whole; the final's own scene cuts would be IDRs the probe lacks.
    if (s.at("frames").get<int>() <= 96 && s.at("frames").get<int>() >= 60 && s.at("cut_frames").empty() &&
        q.at("final_encodes").get<int>() == 1) {
      segment = s.at("index").get<int>();
      break;
    }
  }
  ASSERT_GE(segment, 0) << "no segment of the varied clip was probed whole and encoded once";
  const auto& final_q = first.at("segments").at(segment).at("quality");
  char crf[16];
  std::snprintf(crf, sizeof crf, "%.2f", final_q.at("crf").get<double>());
  // The search's first probe is at --crf: the final's CRF.
  auto args = base_args(dir / "b.mp4", dir / "cache-b");
  args.insert(args.end(), {"--crf", crf});
  const auto second = run_json(args);
  ASSERT_FALSE(second.is_null());
  const auto& probe = second.at("segments").at(segment).at("quality").at("probes").at(0);
  ASSERT_NEAR(probe.at("crf").get<double>(), final_q.at("crf").get<double>(), 1e-9);
  EXPECT_NEAR(probe.at("score").get<double>(), final_q.at("first_score").get<double>(), 1e-9)
      << "segment " << segment << " at CRF " << crf;
}

// The job learns what finals score over their probes from its finished windowed segments and hands it
// to the next ones: with one worker, the second segment runs with half the first one's miss.
TEST(TargetQuality, TheNextSegmentsProbesAimOffByWhatTheFinishedOnesMissed) {
  test::TempDir dir;
  // Segments of 100 and 125 frames, probed by windows (not whole), one after the other.
  const auto j = run_json({varied_clip(), "-o", dir / "out.mp4", "--preset", "veryfast", "--segment-duration",
                           "4.5", "--min-segment", "4", "--workers", "1", "--threads-per-worker", "1",
                           "--target-quality", "0.97", "--metric", "ssim", "--probe-cache", dir / "cache"});
  ASSERT_FALSE(j.is_null());
  auto segments = j.at("segments");
  ASSERT_GE(segments.size(), 2u);
  std::sort(segments.begin(), segments.end(),
            [](const auto& a, const auto& b) { return a.at("started") < b.at("started"); });
  for (const auto& s : segments) ASSERT_GT(s.at("frames").get<int>(), 96);
  const auto& first = segments[0].at("quality");
  EXPECT_EQ(first.at("probe_offset").get<double>(), 0) << "the job's first segment has nothing to learn from";
  const auto db = [](double ssim) { return -10 * std::log10(1 - ssim); };
  const double miss = db(first.at("first_score").get<double>()) - db(first.at("predicted").get<double>());
  ASSERT_GT(std::abs(miss), 1e-4) << "the first segment's probes predicted it exactly: nothing to hand on";
  const auto& second = segments[1].at("quality");
  EXPECT_NEAR(second.at("probe_offset").get<double>(), miss / 2, 1e-9);
}

TEST(TargetQuality, AMisjudgingProbeSampleIsCorrectedByEncodingAgain) {
  test::TempDir dir;
  const auto j = run_json(base_args(dir / "out.mp4", dir / "cache"), {"PVT_FAULT=probe-skew:1"});
  ASSERT_FALSE(j.is_null());
  const auto& seg = j.at("segments").at(1).at("quality");
  EXPECT_GE(seg.at("final_encodes").get<int>(), 2);
  EXPECT_NEAR(seg.at("score").get<double>(), 0.97, 0.002);
  EXPECT_EQ(j.at("segments").at(0).at("quality").at("final_encodes"), 1);
  EXPECT_GE(j.at("target_quality").at("reencoded_segments").get<int>(), 1);
}

TEST(TargetQuality, ProbesAreCachedForARerunAndAChangedTarget) {
  test::TempDir dir;
  const std::string cache = dir / "cache";
  const auto first = run_json(base_args(dir / "a.mp4", cache));
  ASSERT_FALSE(first.is_null());
  const int measured = first.at("target_quality").at("probe_encodes");
  EXPECT_GT(measured, 0);
  EXPECT_EQ(first.at("target_quality").at("cached_probes"), 0);

  const auto again = run_json(base_args(dir / "b.mp4", cache));
  ASSERT_FALSE(again.is_null());
  EXPECT_EQ(again.at("target_quality").at("probe_encodes"), 0);
  EXPECT_EQ(again.at("target_quality").at("cached_probes"), measured);
  for (std::size_t i = 0; i < again.at("segments").size(); ++i)
    EXPECT_DOUBLE_EQ(again.at("segments")[i].at("quality").at("crf").get<double>(),
                     first.at("segments")[i].at("quality").at("crf").get<double>());

  auto changed = base_args(dir / "c.mp4", cache);
  changed[std::find(changed.begin(), changed.end(), "0.97") - changed.begin()] = "0.975";
  const auto other = run_json(changed);
  ASSERT_FALSE(other.is_null());
  EXPECT_GT(other.at("target_quality").at("cached_probes").get<int>(), 0);
  EXPECT_LT(other.at("target_quality").at("probe_encodes").get<int>(), measured);
  for (const auto& s : other.at("segments"))
    EXPECT_NEAR(s.at("quality").at("score").get<double>(), 0.975, 0.002) << s.at("quality").dump();
}

// The segment of least estimated cost in the plan `pvt plan` shows for base_args' settings.
int cheapest_segment(const std::string& clip, const std::string& out) {
  const auto r = test::run_pvt({"plan", clip, "-o", out, "--preset", "veryfast", "--segment-duration", "3",
                                "--workers", "2", "--threads-per-worker", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The table's rows: index, start, frames, start s, duration, reason, cost.
  std::istringstream rows(r.out);
  std::string line;
  int best = -1;
  double best_cost = 0;
  while (std::getline(rows, line)) {
    std::istringstream row(line);
    int index, start, frames;
    double start_s, duration, cost;
    std::string reason;
    if (!(row >> index >> start >> frames >> start_s >> duration >> reason >> cost)) continue;
    if (best < 0 || cost < best_cost) best = index, best_cost = cost;
  }
  EXPECT_GE(best, 0) << r.out;
  return best;
}

TEST(TargetQuality, AResumedJobReusesFinishedSegmentsAndCachedProbes) {
  test::TempDir dir;
  const std::string out = dir / "out.mp4";
  // The cheapest segment (the pool hands it out last) fails on every attempt after its probes: the job
  // stops with most of the others finished.
  const int cheapest = cheapest_segment(varied_clip(), out);
  auto args = base_args(out, dir / "cache");
  args.insert(args.begin(), "transcode");
  auto failing = args;
  failing.insert(failing.end(), {"--progress", "none"});
  const auto r = test::run_pvt(failing, {"PVT_FAULT=fail:" + std::to_string(cheapest)});
  ASSERT_NE(r.exit_code, 0);
  ASSERT_FALSE(std::filesystem::exists(out));
  // What the failed run finished (the failure stops the segments still queued or in flight, so which ones
  // depends on the plan and the order they ran in).
  std::set<int> finished;
  {
    std::ifstream state(dir / ".out.mp4.pvt-job/job.json");
    const auto job = nlohmann::json::parse(state);
    for (const auto& f : job.at("finished")) finished.insert(f.at("index").get<int>());
  }
  ASSERT_GE(finished.size(), 1u) << r.err;
  ASSERT_EQ(finished.count(cheapest), 0u);
  args.erase(args.begin());
  const auto j = run_json(args);
  ASSERT_FALSE(j.is_null());
  EXPECT_TRUE(j.at("resumed").get<bool>());
  EXPECT_EQ(j.at("segments_reused").get<int>(), static_cast<int>(finished.size()));
  // Only segments the failed run never probed encode probes again.
  int uncached = 0;
  for (const auto& s : j.at("segments")) {
    const int index = s.at("index");
    EXPECT_EQ(s.at("reused").get<bool>(), finished.count(index) == 1) << index;
    if (finished.count(index) || index == cheapest) continue;
    for (const auto& p : s.at("quality").at("probes")) uncached += !p.at("cached").get<bool>();
  }
  EXPECT_EQ(j.at("target_quality").at("probe_encodes").get<int>(), uncached);
  const auto& last = j.at("segments").at(cheapest);
  EXPECT_FALSE(last.at("reused").get<bool>());
  EXPECT_GE(last.at("quality").at("probes").size(), 1u);
  for (const auto& p : last.at("quality").at("probes")) EXPECT_TRUE(p.at("cached").get<bool>());
  for (const auto& s : j.at("segments")) EXPECT_NEAR(s.at("quality").at("score").get<double>(), 0.97, 0.002);
}

TEST(TargetQuality, APsnrTargetOnASharedCameraClip) {
  const auto clip = test::shared_clip("car-detection.mp4");
  // The still camera needs CRFs above 40 for 40 dB: the range is widened (the default stops at 40).
  if (!clip) GTEST_SKIP() << "car-detection.mp4 is not in " << test::shared_media_dir();
  test::TempDir dir;
  const std::string out = dir / "car.mp4";
  const auto j = run_json({*clip, "-o", out, "--preset", "veryfast", "--workers", "2", "--threads-per-worker",
                           "1", "--audio", "none", "--target-quality", "40", "--metric", "psnr",
                           "--crf-range", "10-51", "--probe-cache", dir / "cache"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j.at("target_quality").at("metric"), "psnr");
  EXPECT_DOUBLE_EQ(j.at("target_quality").at("tolerance").get<double>(), 0.2);
  const auto frames = ffmpeg_scores("psnr", out, *clip, dir / "psnr.log");
  ASSERT_EQ(frames.size(), static_cast<std::size_t>(j.at("frames").get<long>()));
  for (const auto& s : j.at("segments")) {
    const auto& q = s.at("quality");
    EXPECT_NEAR(q.at("score").get<double>(), 40.0, 0.2) << "segment " << s.at("index");
    const int first = s.at("start_frame"), n = s.at("frames");
    double sum = 0;
    for (int f = first; f < first + n; ++f) sum += frames[f];
    EXPECT_NEAR(sum / n, q.at("score").get<double>(), 0.02) << "segment " << s.at("index");
  }
}

// A two-rung ladder (240p, the source's height, and 144p) of the varied clip under target quality.
std::vector<std::string> ladder_args(const std::string& out_dir, const std::string& cache,
                                     const std::string& bitrates) {
  auto args = base_args(out_dir + "/index.m3u8", cache);
  args.insert(args.end(), {"--ladder", "240,144", "--ladder-bitrates", bitrates});
  return args;
}

// The ladder into DIR/hls, with its probes cached in DIR/cache.
nlohmann::json run_ladder(const test::TempDir& dir, const std::string& bitrates,
                          const std::vector<std::string>& env = {}) {
  std::filesystem::create_directories(dir / "hls");
  return run_json(ladder_args(dir / "hls", dir / "cache", bitrates), env);
}

// Presentation times of the key frames in a playlist, as ffprobe reads them.
std::vector<std::string> keyframe_times(const std::string& playlist) {
  const auto r = test::run({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "frame=pts_time,key_frame", "-of", "csv=p=0", playlist});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> keys;
  std::istringstream rows(r.out);
  for (std::string row; std::getline(rows, row);)
    if (row.rfind("1,", 0) == 0) keys.push_back(row.substr(2, row.find(',', 2) - 2));
  return keys;
}

// Each segment's mean SSIM in rung r of a 240/144 ladder as ffmpeg measures it, against the source as that
// rung's encoder got it: the 144p rung against the source scaled to 192x144 with swscale's bicubic, as pvt
// scales it.
std::vector<double> ffmpeg_segment_ssim(const test::TempDir& dir, const nlohmann::json& j, std::size_t r) {
  const std::vector<std::string> references{"[1:v]null[ref]", "[1:v]scale=192:144:flags=bicubic[ref]"};
  const std::string playlist = j.at("renditions")[r].at("playlist");
  const std::string stats = dir / ("ssim" + std::to_string(r) + ".log");
  const auto run =
      test::run({"ffmpeg", "-hide_banner", "-nostats", "-i", playlist, "-i", varied_clip(), "-lavfi",
                 references.at(r) + ";[0:v][ref]ssim=stats_file=" + stats, "-f", "null", "-"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::vector<double> frames;
  std::ifstream f(stats);
  const std::regex all("All:([0-9.]+)");
  for (std::string line; std::getline(f, line);) {
    std::smatch m;
    if (std::regex_search(line, m, all)) frames.push_back(std::stod(m[1]));
  }
  EXPECT_EQ(frames.size(), 225u) << playlist;
  std::vector<double> out;
  for (const auto& s : j.at("segments")) {
    const int first = s.at("start_frame"), n = s.at("frames");
    double sum = 0;
    for (int i = first; i < first + n && i < static_cast<int>(frames.size()); ++i) sum += frames[i];
    out.push_back(sum / n);
  }
  return out;
}

TEST(TargetQuality, EveryLadderRungReachesTheTargetAsFfmpegMeasuresIt) {
  test::TempDir dir;
  const auto j = run_ladder(dir, "none");
  ASSERT_FALSE(j.is_null());
  ASSERT_EQ(j.at("renditions").size(), 2u);
  std::vector<std::vector<double>> crfs(2);
  for (std::size_t r = 0; r < 2; ++r) {
    const auto& rendition = j.at("renditions")[r];
    const auto& tq = rendition.at("target_quality");
    ASSERT_FALSE(tq.is_null()) << rendition;
    EXPECT_EQ(tq.at("segments_within_tolerance"), j.at("segments").size()) << rendition;
    EXPECT_GT(tq.at("probe_encodes").get<int>(), 0);
    const auto judged = ffmpeg_segment_ssim(dir, j, r);
    for (std::size_t i = 0; i < j.at("segments").size(); ++i) {
      const auto& s = j.at("segments")[i];
      ASSERT_EQ(s.at("rendition_quality").size(), 2u);
      const auto& q = s.at("rendition_quality")[r];
      const double score = q.at("score").get<double>();
      EXPECT_NEAR(score, 0.97, 0.002) << "segment " << s.at("index") << " rung " << r;
      EXPECT_TRUE(q.at("within_tolerance").get<bool>());
      EXPECT_NEAR(judged[i], score, r == 0 ? 2e-4 : 1e-3) << "segment " << s.at("index") << " rung " << r;
      crfs[r].push_back(q.at("crf").get<double>());
    }
  }
  // Rung 0's result is the segment's own `quality` too; the rungs were searched apart: a smaller picture
  // of the same frames needs another CRF for the same SSIM.
  for (std::size_t i = 0; i < j.at("segments").size(); ++i)
    EXPECT_DOUBLE_EQ(j.at("segments")[i].at("quality").at("crf").get<double>(), crfs[0][i]);
  EXPECT_NE(crfs[0], crfs[1]);
  EXPECT_EQ(keyframe_times(j.at("renditions")[0].at("playlist")),
            keyframe_times(j.at("renditions")[1].at("playlist")));
}

TEST(TargetQuality, ALadderReusesEachRungsCachedProbes) {
  test::TempDir dir;
  const std::string cache = dir / "cache";
  for (const char* sub : {"a", "b"}) std::filesystem::create_directories(dir / sub);
  const auto first = run_json(ladder_args(dir / "a", cache, "none"));
  ASSERT_FALSE(first.is_null());
  const auto again = run_json(ladder_args(dir / "b", cache, "none"));
  ASSERT_FALSE(again.is_null());
  for (std::size_t r = 0; r < 2; ++r) {
    const auto& a = first.at("renditions")[r].at("target_quality");
    const auto& b = again.at("renditions")[r].at("target_quality");
    EXPECT_GT(a.at("probe_encodes").get<int>(), 0) << r;
    EXPECT_EQ(b.at("probe_encodes"), 0) << r;
    EXPECT_EQ(b.at("cached_probes"), a.at("probe_encodes")) << r;
    for (std::size_t i = 0; i < again.at("segments").size(); ++i)
      EXPECT_DOUBLE_EQ(again.at("segments")[i].at("rendition_quality")[r].at("crf").get<double>(),
                       first.at("segments")[i].at("rendition_quality")[r].at("crf").get<double>());
  }
}

TEST(TargetQuality, ALadderRungThatMissesIsEncodedAgainWithTheSameKeyframes) {
  test::TempDir dir;
  const auto j = run_ladder(dir, "none", {"PVT_FAULT=probe-skew:1"});
  ASSERT_FALSE(j.is_null());
  for (std::size_t r = 0; r < 2; ++r) {
    const auto& q = j.at("segments").at(1).at("rendition_quality")[r];
    EXPECT_GE(q.at("final_encodes").get<int>(), 2) << r;
    EXPECT_NEAR(q.at("score").get<double>(), 0.97, 0.002) << r;
    EXPECT_EQ(j.at("segments").at(0).at("rendition_quality")[r].at("final_encodes"), 1) << r;
    EXPECT_GE(j.at("renditions")[r].at("target_quality").at("reencoded_segments").get<int>(), 1);
  }
  // The tries' files were kept per rung, and no try is left in the job folder.
  EXPECT_EQ(keyframe_times(j.at("renditions")[0].at("playlist")),
            keyframe_times(j.at("renditions")[1].at("playlist")));
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
    EXPECT_EQ(e.path().string().find(".try"), std::string::npos) << e.path();
}

// Only the rung that misses is encoded again: the other keeps its one final. When rung 0 is the one kept,
// the 144p rung's re-encode runs alone (in rung 0's place) and must still be scaled and scored as in the
// whole ladder: ffmpeg's SSIM of its playlist agrees with pvt's scores.
TEST(TargetQuality, OnlyTheLadderRungThatMissesIsEncodedAgain) {
  for (const auto& [skewed, height] : {std::pair<std::size_t, int>{1, 144}, {0, 240}}) {
    SCOPED_TRACE(std::to_string(height) + "p misjudged");
    test::TempDir dir;
    const auto j = run_ladder(dir, "none", {"PVT_FAULT=probe-skew:1:" + std::to_string(height)});
    ASSERT_FALSE(j.is_null());
    const auto& seg = j.at("segments").at(1).at("rendition_quality");
    EXPECT_GE(seg[skewed].at("final_encodes").get<int>(), 2);
    EXPECT_EQ(seg[1 - skewed].at("final_encodes"), 1);
    for (std::size_t r = 0; r < 2; ++r) {
      EXPECT_TRUE(seg[r].at("within_tolerance").get<bool>()) << r << seg[r];
      const auto judged = ffmpeg_segment_ssim(dir, j, r);
      for (std::size_t i = 0; i < j.at("segments").size(); ++i)
        EXPECT_NEAR(judged[i], j.at("segments")[i].at("rendition_quality")[r].at("score").get<double>(),
                    r == 0 ? 2e-4 : 1e-3)
            << "segment " << i << " rung " << r;
    }
    EXPECT_EQ(keyframe_times(j.at("renditions")[0].at("playlist")),
              keyframe_times(j.at("renditions")[1].at("playlist")));
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
      EXPECT_EQ(e.path().string().find(".try"), std::string::npos) << e.path();
  }
}

// The files of rendition `r` of a ladder run into DIR/hls, by name.
std::map<std::string, std::string> rendition_files(const test::TempDir& dir, std::size_t r) {
  std::map<std::string, std::string> out;
  const std::string prefix = "index_r" + std::to_string(r) + "_";
  for (const auto& e : std::filesystem::directory_iterator(dir / "hls")) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::ifstream in(e.path(), std::ios::binary);
    out[name] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  return out;
}

// The 144p rung re-encoded alone (rung 0 done) gives the very bytes it gives re-encoded inside the whole
// ladder (both rungs misjudged the same way for it): the same frames, encoder settings and IDRs, and no
// pre-roll, which a lower rung never has.
TEST(TargetQuality, ARungEncodedAloneIsTheFileTheWholeLadderMakes) {
  test::TempDir alone, whole;
  const auto a = run_ladder(alone, "none", {"PVT_FAULT=probe-skew:1:144"});
  const auto w = run_ladder(whole, "none", {"PVT_FAULT=probe-skew:1"});
  ASSERT_FALSE(a.is_null());
  ASSERT_FALSE(w.is_null());
  ASSERT_EQ(a.at("segments").at(1).at("rendition_quality")[0].at("final_encodes"), 1);
  ASSERT_GE(w.at("segments").at(1).at("rendition_quality")[0].at("final_encodes").get<int>(), 2);
  for (std::size_t i = 0; i < a.at("segments").size(); ++i)
    EXPECT_DOUBLE_EQ(a.at("segments")[i].at("rendition_quality")[1].at("crf").get<double>(),
                     w.at("segments")[i].at("rendition_quality")[1].at("crf").get<double>());
  const auto files = rendition_files(alone, 1);
  ASSERT_FALSE(files.empty());
  EXPECT_TRUE(files == rendition_files(whole, 1)) << "the 144p rendition's files differ";
}

// A lower rung's re-encode runs alone in rung 0's place (OnlyTheLadderRungThatMissesIsEncodedAgain), so the
// scaler rung 0 uses must give it the very frames its own scaler gives it inside the whole ladder: here on
// an odd-sized, anamorphic, full-range source, plane by plane.
TEST(TargetQuality, ALowerRungAloneGetsTheFramesItGetsInTheWholeLadder) {
  test::TempDir dir;
  const std::string src = dir / "odd.mkv";
  const auto made =
      test::run({"ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=321x241:r=25:d=2", "-vf",
                 "setsar=4/3,format=yuvj420p", "-c:v", "libx264", "-crf", "10", src});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::filesystem::create_directories(dir / "hls");
  const auto r = test::run_pvt({"transcode", src, "-o", dir / "hls/index.m3u8", "--ladder", "180,120",
                                "--keep-work", "--progress", "none", "-y"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const SegmentDescriptor d = read_descriptor(dir / "hls/.index.m3u8.pvt-job/seg_00000.task.json");
  ASSERT_EQ(d.ladder.size(), 2u);
  SegmentDescriptor alone = d;
  alone.ladder = {d.ladder[1]};
  const std::vector<int> picked{d.start_frame, d.start_frame + 7, d.end_frame - 1};
  const auto in_ladder = read_segment_frames(
      d, nullptr, picked, [] {}, 1);
  const auto by_itself = read_segment_frames(
      alone, nullptr, picked, [] {}, 0);
  ASSERT_EQ(in_ladder.size(), picked.size());
  ASSERT_EQ(by_itself.size(), picked.size());
  for (std::size_t i = 0; i < picked.size(); ++i) {
    const AVFrame* a = in_ladder[i].get();
    const AVFrame* b = by_itself[i].get();
    ASSERT_EQ(a->format, b->format);
    ASSERT_EQ(a->width, b->width);
    ASSERT_EQ(a->height, b->height);
    EXPECT_EQ(a->height, 120);
    EXPECT_EQ(a->color_range, b->color_range);
    EXPECT_EQ(av_cmp_q(a->sample_aspect_ratio, b->sample_aspect_ratio), 0);
    for (int p = 0; p < 3; ++p) {
      const int rows = p == 0 ? a->height : a->height / 2, bytes = p == 0 ? a->width : a->width / 2;
      for (int y = 0; y < rows; ++y)
        ASSERT_EQ(std::memcmp(a->data[p] + y * a->linesize[p], b->data[p] + y * b->linesize[p], bytes), 0)
            << "frame " << picked[i] << " plane " << p << " row " << y;
    }
  }
}

// The varied clip's noise at 240p cannot reach SSIM 0.97 under a 400 kb/s peak at any CRF: the segment says
// the cap held it, and the 240p rendition counts it.
TEST(TargetQuality, ALadderRungsPeakCapThatHoldsTheScoreDownIsReported) {
  test::TempDir dir;
  const auto j = run_ladder(dir, "240=400k,144=200k");
  ASSERT_FALSE(j.is_null());
  const auto& noisy = j.at("segments").at(2).at("rendition_quality")[0];
  EXPECT_TRUE(noisy.at("limited_by_cap").get<bool>()) << noisy;
  EXPECT_LT(noisy.at("score").get<double>(), 0.97 - 0.002);
  EXPECT_GE(j.at("renditions")[0].at("target_quality").at("segments_limited_by_peak_cap").get<int>(), 1);
  for (const auto& s : j.at("segments"))
    for (const auto& q : s.at("rendition_quality"))
      EXPECT_TRUE(q.at("within_tolerance").get<bool>() || q.at("limited_by_cap").get<bool>() ||
                  q.at("limited_by_range").get<bool>())
          << q;
}

TEST(TargetQuality, BadCombinationsAreOneLineErrors) {
  test::TempDir dir;
  const std::string in = varied_clip(), out = dir / "x.mp4";
  struct Case {
    std::vector<std::string> extra;
    std::string says;
  };
  const std::vector<Case> cases{
      {{"--target-quality", "0.97", "--bitrate", "1M"}, "exclude each other"},
      {{"--target-quality", "93", "--metric", "vmaf"}, "it offers ssim, psnr"},
      {{"--target-quality", "1.5"}, "between 0 and 1"},
      {{"--target-quality", "42", "--metric", "psnr", "--quality-pool", "median"}, "mean, p5 or min"},
      {{"--target-quality", "0.97", "--crf-range", "40-10"}, "--crf-range"},
      {{"--target-quality", "0.97", "--crf-range", "abc"}, "LO-HI"},
      {{"--target-quality", "0.97", "--max-probes", "0"}, "--max-probes"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"transcode", in, "-o", out};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    const auto r = test::run_pvt(args);
    EXPECT_EQ(r.exit_code, 2) << c.says;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace pvt
