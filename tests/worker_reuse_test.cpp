// Long-lived workers: a job's segments are encoded by one `pvt worker --serve` per slot, so the start-up
// is paid once per worker, frame-accurately as before; a worker that dies is replaced; the timeline shows
// who encoded what, when.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "child_process.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

std::vector<std::string> args(const test::TempDir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> a{"transcode",
                             test::scene_clip(),
                             "-o",
                             dir / "out.mp4",
                             "--segment-duration",
                             "1",
                             "--min-segment",
                             "0.5",
                             "--max-segment",  // many short segments, whatever their IDRs cost
                             "1",
                             "--preset",
                             "ultrafast",
                             "--progress",
                             "none",
                             "--json",
                             "--workers",
                             "2"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::set<int> worker_pids(const nlohmann::json& j) {
  std::set<int> pids;
  for (const auto& s : j.at("segments")) pids.insert(s.at("worker_pid").get<int>());
  return pids;
}

TEST(WorkerReuse, TwoWorkersEncodeEverySegmentFrameAccurately) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir, {"--timeline", dir / "timeline.svg"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_GE(j.at("segments").size(), 6u);
  EXPECT_LE(worker_pids(j).size(), 2u) << "a process per segment instead of one per worker";
  EXPECT_EQ(test::ffprobe_frames(dir / "out.mp4"), 200);
  EXPECT_GT(test::psnr(dir / "out.mp4", test::scene_clip()), 30.0);
  // The timeline: each segment on its worker's row, inside the encode stage, in order on each row.
  std::map<int, double> row_end;
  for (const auto& s : j.at("segments")) {
    const double start = s.at("started"), end = s.at("finished");
    EXPECT_LE(start, end);
    const int slot = s.at("slot");
    EXPECT_TRUE(slot == 0 || slot == 1) << slot;
    EXPECT_LE(end, j.at("encode_seconds").get<double>() + 0.5);
    row_end[slot] = std::max(row_end[slot], end);
  }
  std::ifstream svg(dir / "timeline.svg");
  const std::string text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_NE(text.find("<svg"), std::string::npos);
  std::size_t bars = 0;
  for (auto at = text.find("<title>segment "); at != std::string::npos;
       at = text.find("<title>segment ", at + 1))
    ++bars;
  EXPECT_EQ(bars, j.at("segments").size());
}

TEST(WorkerReuse, AWorkerThatCrashesIsReplacedAndItsSegmentRetried) {
  test::TempDir dir;
  const auto r = test::run_pvt(args(dir), {"PVT_FAULT=crash:3:1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("segments")[3].at("attempts"), 2);
  EXPECT_EQ(worker_pids(j).size(), 3u) << "the crashed worker's slot starts one fresh process";
  EXPECT_EQ(test::ffprobe_frames(dir / "out.mp4"), 200);
}

TEST(WorkerReuse, AReusedWorkerGoesBackToTheFirstFrameOfAProgramStream) {
  // A worker that took a later segment first and then segment 0 must seek back to the very first frame.
  // MPEG-PS binary-searches timestamps, and asked for its start time it landed on the second GOP: 13 of
  // 25 frames (cityCC0.mpg failed so once the planner gave it a short first segment).
  test::TempDir dir;
  const std::string ps = dir / "in.mpg";
  ASSERT_EQ(
      test::run({"ffmpeg", "-v",   "error", "-f",         "lavfi", "-i", "testsrc2=size=320x180:rate=25",
                 "-t",     "8",    "-c:v",  "mpeg2video", "-g",    "12", "-bf",
                 "0",      "-q:v", "4",     "-f",         "vob",   ps})
          .exit_code,
      0);
  const auto plan = test::run_pvt({"transcode", ps, "-o", dir / "out.mp4", "--segment-duration", "1",
                                   "--min-segment", "0.5", "--max-segment", "1", "--preset", "ultrafast",
                                   "--progress", "none", "--keep-work", "--workers", "1"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  const std::string job = dir / ".out.mp4.pvt-job";
  ChildProcess worker({PVT_BINARY, "worker", "--serve"}, {}, dir / "worker.log", /*stdin_pipe=*/true);
  ASSERT_TRUE(worker.write_line("1 " + job + "/seg_00003.task.json"));
  ASSERT_TRUE(worker.write_line("1 " + job + "/seg_00000.task.json"));
  worker.close_stdin();
  std::ifstream log(dir / "worker.log");
  EXPECT_EQ(worker.wait(), 0) << std::string((std::istreambuf_iterator<char>(log)), {});
  std::ifstream stats(job + "/seg_00000.json");
  const auto j = nlohmann::json::parse(stats);
  EXPECT_EQ(j.at("frames"), 25);
}

TEST(WorkerReuse, ServeModeRefusesALineItCannotRead) {
  test::TempDir dir;
  ChildProcess worker({PVT_BINARY, "worker", "--serve"}, {}, dir / "worker.log", /*stdin_pipe=*/true);
  ASSERT_TRUE(worker.write_line("nonsense"));
  worker.close_stdin();
  EXPECT_EQ(worker.wait(), 2);
  std::ifstream log(dir / "worker.log");
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("expected 'ATTEMPT PATH'"), std::string::npos) << text;
}

TEST(WorkerReuse, WritingToAWorkerThatDiedFailsInsteadOfRaisingSigpipe) {
  // The caller's SIGPIPE left at its default (which would kill the process): the pool must still learn
  // of a dead worker from a failed write, as a library user's program need not ignore SIGPIPE.
  struct sigaction dfl {
  }, old{};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, &old);
  test::TempDir dir;
  {
    ChildProcess worker({"/bin/true"}, {}, dir / "true.log", /*stdin_pipe=*/true);
    EXPECT_EQ(worker.wait(), 0);
    EXPECT_FALSE(worker.write_line("1 /nowhere.task.json"));
    EXPECT_FALSE(worker.write_line("2 /nowhere.task.json"));
  }
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE)) << "a SIGPIPE left pending would be delivered later";
  sigaction(SIGPIPE, &old, nullptr);
}

}  // namespace
}  // namespace pvt
