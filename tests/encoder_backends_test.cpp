// Encoder backends: the session probe, --encoder/--codec, and the fallback of a failed hardware
// session to the CPU. CI has no GPU, so hardware sessions are pretended (PVT_PRETEND_HW_SESSIONS) and
// made to fail (PVT_FAULT=hw-open); on a machine with a GPU the "no hardware" checks skip.
#include <gtest/gtest.h>

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "encoder_probe.hpp"
#include "realtime_guard.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

bool any_hardware_usable() {
  for (const auto& p : hw::probe_encoders())
    if (p.hardware && p.usable) return true;
  return false;
}

std::vector<std::string> args(const test::TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> a{
      "transcode", test::scene_clip(), "-o",   dir / "out.mp4", "--segment-duration", "2", "--preset",
      "ultrafast", "--progress",       "none", "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

TEST(EncoderProbe, ReportsMissingHardwareWithFFmpegsReason) {
  const auto& probes = hw::probe_encoders();
  const auto* x264 = hw::find_usable(probes, "x264", "h264");
  ASSERT_NE(x264, nullptr) << "x264 is the floor";
  for (const auto& p : probes) {
    if (!p.hardware) continue;
    EXPECT_TRUE(p.usable || !p.reason.empty()) << p.backend << "/" << p.codec << " says no without a reason";
    if (p.usable) {
      EXPECT_GE(p.sessions, 1);
    }
  }
  if (any_hardware_usable()) GTEST_SKIP() << "this machine has a hardware encoder";
  const auto caps = test::run_pvt({"caps", "--json"});
  ASSERT_EQ(caps.exit_code, 0) << caps.err;
  const auto j = nlohmann::json::parse(caps.out).at("encoders");
  EXPECT_EQ(j.at("auto"), "x264");
  bool saw_nvenc = false;
  for (const auto& b : j.at("backends")) {
    if (b.at("backend") != "nvenc") continue;
    saw_nvenc = true;
    EXPECT_FALSE(b.at("available").get<bool>());
    EXPECT_FALSE(b.at("note").get<std::string>().empty());
  }
  EXPECT_TRUE(saw_nvenc);
}

TEST(EncoderChoice, HwSessionsCapsTheSessionsOfEachHardwareBackend) {
  test::TempDir dir;
  const auto r =
      test::run_pvt(args(dir, {"--encoder", "auto", "--hw-sessions", "1"}), {"PVT_PRETEND_HW_SESSIONS=3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("hardware_sessions"), 1);
  EXPECT_NE(j.at("encoder").get<std::string>().find("pretend (1 session)"), std::string::npos)
      << j.at("encoder");
  test::TempDir all;
  const auto r3 = test::run_pvt(args(all, {"--encoder", "auto"}), {"PVT_PRETEND_HW_SESSIONS=3"});
  ASSERT_EQ(r3.exit_code, 0) << r3.err;
  EXPECT_EQ(nlohmann::json::parse(r3.out).at("hardware_sessions"), 3);
}

TEST(EncoderChoice, AutoPicksX264WithoutHardware) {
  if (any_hardware_usable()) GTEST_SKIP() << "this machine has a hardware encoder";
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir, {"--encoder", "auto"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("encoder"), "x264");
  EXPECT_EQ(j.at("hardware_sessions"), 0);
  for (const auto& s : j.at("segments")) {
    EXPECT_EQ(s.at("backend"), "x264");
    EXPECT_GT(s.at("speed").get<double>(), 0);
  }
}

TEST(EncoderChoice, AMissingHardwareEncoderIsAOneLineUsageError) {
  if (hw::find_usable(hw::probe_encoders(), "nvenc", "h264")) GTEST_SKIP() << "this machine has NVENC";
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir, {"--encoder", "nvenc"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("encoder 'nvenc' is not available on this machine"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("available: x264"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(EncoderFallback, AFailedHardwareSessionIsRequeuedOnTheCpu) {
  test::TempDir dir;
  const auto r =
      test::run_pvt(args(dir, {"--encoder", "auto"}), {"PVT_PRETEND_HW_SESSIONS=1", "PVT_FAULT=hw-open"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::ffprobe_frames(dir / "out.mp4"), 200);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("hardware_sessions"), 1);
  ASSERT_FALSE(j.at("fallback_segments").empty());
  for (const auto& s : j.at("segments")) {
    EXPECT_EQ(s.at("backend"), "x264") << "a failed pretend session must not be reported as the encoder";
    if (s.at("fallback_from").is_null()) continue;
    EXPECT_EQ(s.at("fallback_from"), "pretend");
    EXPECT_NE(s.at("fallback_reason").get<std::string>().find("injected session open failure"),
              std::string::npos);
  }
}

TEST(EncoderFallback, ASessionThatDiesMidSegmentIsRequeuedOnTheCpu) {
  test::TempDir dir;
  const auto r =
      test::run_pvt(args(dir, {"--encoder", "auto"}), {"PVT_PRETEND_HW_SESSIONS=1", "PVT_FAULT=hw-die"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::ffprobe_frames(dir / "out.mp4"), 200);
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_FALSE(j.at("fallback_segments").empty());
  for (const auto& s : j.at("segments")) EXPECT_EQ(s.at("backend"), "x264");
}

TEST(EncoderFallback, HardwareSessionsAndCpuWorkersShareOneQueue) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir, {"--encoder", "auto"}), {"PVT_PRETEND_HW_SESSIONS=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::ffprobe_frames(dir / "out.mp4"), 200);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.at("fallback_segments").empty());
  int pretend = 0;
  for (const auto& s : j.at("segments")) pretend += s.at("backend") == "pretend";
  EXPECT_GE(pretend, 1) << "the hardware slot took no segment";
}

TEST(EncoderChoice, HevcOnTheCpuIsX265) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir, {"--codec", "hevc"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::ffprobe_stream(dir / "out.mp4", "v:0", "codec_name"), "hevc");
  EXPECT_EQ(test::ffprobe_frames(dir / "out.mp4"), 200);
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& s : j.at("segments")) EXPECT_EQ(s.at("backend"), "x265");
}

// SVT-AV1 1.4 makes the thread that opens an encoder (and the threads it starts) SCHED_FIFO 99 when it runs
// as root; the probe opens one. With pvt's guard (what main() does first, and this test binary at start:
// test_support.cpp) no thread can become real-time, and every thread stays normal after the probe.
TEST(RealtimeGuard, NoThreadCanBecomeRealTimeAndTheProbeLeavesEveryThreadNormal) {
  if (geteuid() != 0) std::printf("note: not root, so real-time was refused here even without the guard\n");
  refuse_realtime_scheduling();
  sched_param param{};
  param.sched_priority = 1;
  errno = 0;
  EXPECT_EQ(sched_setscheduler(0, SCHED_FIFO, &param), -1) << "this thread could become real-time";
  EXPECT_EQ(errno, EPERM);
  const auto& probes = hw::probe_encoders();
  const bool svt = std::any_of(probes.begin(), probes.end(), [](const hw::EncoderProbe& p) {
    return p.ffmpeg_encoder == "libsvtav1" && p.usable;
  });
  if (!svt) std::printf("note: libsvtav1 is not usable here; the other encoders were opened\n");
  EXPECT_EQ(test::threads_not_at_normal_scheduling(), std::vector<std::string>{});
}

}  // namespace
}  // namespace pvt
