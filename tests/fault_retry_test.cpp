// Worker failures: retried once, then the job fails with a clear error and leaves no output.
// Faults are injected with PVT_FAULT (see README).
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
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
  EXPECT_TRUE(dir.entries().empty());
}

TEST(FaultRetry, AWrongFrameCountIsAFailure) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir), {"PVT_FAULT=short:0"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("frames"), std::string::npos) << r.err;
  EXPECT_TRUE(dir.entries().empty());
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
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace pvt
