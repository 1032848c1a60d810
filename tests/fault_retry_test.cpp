// Worker failures (an error exit, a crash, a hang caught by the watchdog, a damaged segment file, a wrong
// frame count): retried once, then the job fails with a clear error, leaves no output, and keeps its
// finished segments for a resume. Faults are injected with PVT_FAULT (see README).
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "child_process.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

std::vector<std::string> args(const test::TempDir& dir) {
  return {"transcode", test::scene_clip(), "-o",   dir / "out.mp4", "--segment-duration", "2", "--preset",
          "ultrafast", "--progress",       "none", "--json"};
}

TEST(FaultRetry, AFailedWorkerIsRetriedOnceAndTheJobSucceeds) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir), {"PVT_FAULT=fail:1:1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("segments")[1].at("attempts"), 2);
  EXPECT_EQ(j.at("segments")[0].at("attempts"), 1);
  EXPECT_EQ(test::ffprobe_frames(dir / "out.mp4"), 200);
}

TEST(FaultRetry, AWorkerThatAlwaysFailsFailsTheJobCleanly) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir), {"PVT_FAULT=fail:2"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("segment 2 failed after 2 attempts"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("injected failure"), std::string::npos) << r.err;
  // Finished segments (if any finished before the failure) are kept for a resume, and then it says so.
  if (r.err.find("run the same command again to resume") != std::string::npos)
    EXPECT_EQ(dir.entries(), std::vector<std::string>{".out.mp4.pvt-job"}) << "no output, only the job state";
  else
    EXPECT_TRUE(dir.entries().empty());
}

TEST(FaultRetry, AWrongFrameCountIsAnInputErrorThatKeepsTheFinishedWork) {
  // PVT_FAULT=short: a segment whose decoder delivers fewer frames than the index promised, on every
  // attempt: exit 3 (input). The segments finished before it are kept (the read error may have been
  // passing), and the message says what to do either way. The last segment fails, so others finished.
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir), {"PVT_FAULT=short:3"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("segment 3 failed after 2 attempts"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("input damaged or truncated?"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("if it is damaged, delete that folder"), std::string::npos) << r.err;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{".out.mp4.pvt-job"}) << "no output, only the job state";
}

TEST(FaultRetry, AnInputErrorOnOnlySomeAttemptsIsNotCalledOne) {
  // The first attempt crashes, the second decodes short: not every attempt met the input, so the job
  // fails as an encode failure (exit 5), not as damaged input.
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir), {"PVT_FAULT=crash:3:1,short:3"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("segment 3 failed after 2 attempts"), std::string::npos) << r.err;
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

TEST(FaultRetry, AKeptWorkerThatDiesBeforeItsNextSegmentDoesNotCostThatSegmentAnAttempt) {
  // One worker serves every segment in turn. It is killed as it takes the second one (PVT_FAULT=vanish,
  // as the OOM killer might kill an idle worker), and that segment's next attempt crashes: with two
  // attempts allowed, the job still succeeds only if the first death was not charged to the segment.
  test::TempDir dir;
  const std::vector<std::string> hls{
      "transcode", test::scene_clip(), "-o",        dir / "h", "--segment-duration", "2",
      "--preset",  "ultrafast",        "--workers", "1",       "--progress",         "none",
      "--json",    "--overwrite"};
  const auto first = test::run_pvt(hls);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto segments = nlohmann::json::parse(first.out).at("segments");
  ASSERT_GE(segments.size(), 3u);
  std::vector<std::pair<double, int>> order;
  for (const auto& s : segments) order.emplace_back(s.at("started").get<double>(), s.at("index").get<int>());
  std::sort(order.begin(), order.end());
  const std::string second = std::to_string(order[1].second);
  const auto r = test::run_pvt(hls, {"PVT_FAULT=vanish:" + second + ":1,crash:" + second + ":2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("segments")[order[1].second].at("attempts"), 3);
  EXPECT_EQ(test::ffprobe_frames(dir / "h/index.m3u8"), 200);
  // The excuse is given once: a segment whose worker vanishes on every attempt still fails.
  const auto again = test::run_pvt(hls, {"PVT_FAULT=vanish:" + second + ",crash:" + second});
  EXPECT_EQ(again.exit_code, 5) << again.err;
}

TEST(FaultRetry, ACrashedWorkerIsRetried) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir), {"PVT_FAULT=crash:1:1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("segments")[1].at("attempts"), 2);
  EXPECT_EQ(test::ffprobe_frames(dir / "out.mp4"), 200);
}

TEST(FaultRetry, AWorkerThatAlwaysCrashesFailsTheJobNamingTheSignal) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir), {"PVT_FAULT=crash:0"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("segment 0 failed after 2 attempts: worker crashed (Segmentation fault)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.mp4"));
}

TEST(FaultRetry, TheWatchdogKillsAHungWorkerAndItsSegmentIsRetried) {
  test::TempDir dir;
  const auto r = test::run_pvt(with(args(dir), {"--worker-timeout", "2"}), {"PVT_FAULT=hang:2:1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("segments")[2].at("attempts"), 2);
  EXPECT_EQ(test::ffprobe_frames(dir / "out.mp4"), 200);
}

TEST(FaultRetry, AWorkerThatHangsEveryTimeFailsTheJobWithTheWatchdogsReason) {
  test::TempDir dir;
  const auto r = test::run_pvt(with(args(dir), {"--worker-timeout", "1"}), {"PVT_FAULT=hang:1"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("no progress for 1 s (watchdog)"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.mp4"));
}

TEST(FaultRetry, ASlowWorkerThatKeepsProgressingIsLeftAlone) {
  test::TempDir dir;
  // 50 ms a frame against a 1 s watchdog: slow, but never a second without a new frame.
  const auto r = test::run_pvt(with(args(dir), {"--worker-timeout", "1"}), {"PVT_FAULT=slow:0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("segments")[0].at("attempts"), 1);
}

TEST(FaultRetry, ACorruptSegmentFileIsCaughtByTheJobAndRedone) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir), {"PVT_FAULT=corrupt:3:1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("segments")[3].at("attempts"), 2);
  EXPECT_EQ(test::ffprobe_frames(dir / "out.mp4"), 200);
}

TEST(FaultRetry, ACorruptSegmentEveryTimeFailsNamingTheCheck) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir), {"PVT_FAULT=corrupt:0"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("segment file"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.mp4"));
}

TEST(FaultRetry, WorkerPeakMemoryIsMeasuredAndTheBudgetLimitsConcurrency) {
  test::TempDir dir;
  // The default worker count follows the budget: one worker's expected peak does not fit in 1 MiB.
  const auto by_default = test::run_pvt(with(args(dir), {"--max-memory", "1M"}));
  ASSERT_EQ(by_default.exit_code, 0) << by_default.err;
  EXPECT_EQ(nlohmann::json::parse(by_default.out).at("workers"), 1);
  // Two slots asked for, but the measured peaks do not fit twice: one worker at a time (the first
  // always starts), and the pool says it waited.
  std::filesystem::remove(dir / "out.mp4");
  const auto r = test::run_pvt(with(args(dir), {"--max-memory", "1M", "--workers", "2"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("max_concurrent_workers"), 1);
  EXPECT_GT(j.at("memory_waits").get<int>(), 0);
  EXPECT_GT(j.at("peak_worker_rss_bytes").get<std::int64_t>(), 10 << 20);
  for (const auto& s : j.at("segments")) EXPECT_GT(s.at("peak_rss_bytes").get<std::int64_t>(), 10 << 20);
  // Without a limit both cores' workers run at once.
  test::TempDir dir2;
  const auto free_run = test::run_pvt(with(args(dir2), {"--workers", "2"}));
  ASSERT_EQ(free_run.exit_code, 0) << free_run.err;
  EXPECT_EQ(nlohmann::json::parse(free_run.out).at("max_concurrent_workers"), 2);
}

TEST(FaultRetry, InterruptStopsWorkersAndLeavesNoOutput) {
  test::TempDir dir;
  // Slow enough to still be running when the signal arrives.
  ChildProcess child({PVT_BINARY, "transcode", test::scene_clip(), "-o", dir / "out.mp4", "--preset",
                      "veryslow", "--segment-duration", "2", "--progress", "none"},
                     {}, dir.path().parent_path() / ("interrupt-" + std::to_string(getpid()) + ".log"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  child.kill(SIGINT);
  const auto t0 = std::chrono::steady_clock::now();
  const int code = child.wait();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(code, 130);
  for (const auto& e : dir.entries()) EXPECT_EQ(e, ".out.mp4.pvt-job") << "only the job state may remain";
}

}  // namespace
}  // namespace pvt
