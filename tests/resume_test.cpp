// Resume: a job killed at any point is finished by running the same command again, reusing the
// segments it finished (counted from the job report), and the output equals a clean run's frame for
// frame. Changed inputs or settings refuse to resume and say why. Also the file-size limit (EFBIG, the
// same path as a full disk) and damaged finished segments.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "job_state.hpp"
#include "test_support.hpp"

namespace pvt {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::vector<std::string> job_args(const std::string& out) {
  return {"transcode",
          test::scene_clip(true),
          "-o",
          out,
          "--segment-duration",
          "1",
          "--preset",
          "ultrafast",
          "--progress",
          "none",
          "--workers",
          "2",
          "--json"};
}

// Frame-by-frame identity of the decoded video (and audio), as ffmpeg's framemd5 sees it.
std::string framemd5(const std::string& path) {
  const auto r = test::run({"ffmpeg", "-v", "error", "-i", path, "-f", "framemd5", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

std::optional<JobState> state_in(const fs::path& job_dir) {
  std::ifstream in(job_dir / "job.json");
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return parse_job_state(ss.str());
  } catch (...) {
    return std::nullopt;  // mid-rename: try again
  }
}

// Starts pvt in a process group of its own, so the whole group (job and workers) can be killed at once.
pid_t spawn_group(const std::vector<std::string>& args, const std::vector<std::string>& env,
                  const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(PVT_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(PVT_BINARY, argv.data());
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

// Waits until the job's state records at least `n` finished segments (or the time runs out).
bool wait_for_finished(const fs::path& job_dir, std::size_t n, std::chrono::seconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (auto s = state_in(job_dir); s && s->finished.size() >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string slow_everywhere() {
  std::string spec = "PVT_FAULT=";
  for (int i = 0; i < 12; ++i) spec += (i ? ",slow:" : "slow:") + std::to_string(i);
  return spec;
}

// Runs the job with its workers slowed (20 fps), so a kill lands mid-job, and SIGKILLs its whole process
// group once `n` segments are finished: the state it leaves behind, or nullopt when it could not be had.
// PVT_FAULT is not a setting, so a rerun without it is "the same command".
std::optional<JobState> kill_after_finished(const std::vector<std::string>& args, const fs::path& job_dir,
                                            std::size_t n, const std::string& log) {
  const pid_t pid = spawn_group(args, {slow_everywhere()}, log);
  const bool reached = wait_for_finished(job_dir, n, std::chrono::seconds(60));
  kill(-pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!reached || !WIFSIGNALED(status)) return std::nullopt;
  return state_in(job_dir);
}

TEST(Resume, AJobKilledWithItsWholeProcessGroupResumesToTheSameOutput) {
  test::TempDir dir;
  const std::string out = dir / "out.mp4";
  const fs::path job_dir = dir.path() / ".out.mp4.pvt-job";
  const auto before = kill_after_finished(job_args(out), job_dir, 2, dir / "../killed.log");
  ASSERT_TRUE(before.has_value());
  EXPECT_FALSE(fs::exists(out));
  const std::size_t done = before->finished.size();
  const std::size_t total = before->plan.size();
  ASSERT_LT(done, total) << "the job finished before the kill; slow it down";

  const auto r = test::run_pvt(job_args(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming the interrupted job"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.at("resumed").get<bool>());
  EXPECT_EQ(j.at("segments_reused").get<std::size_t>(), done);
  EXPECT_EQ(j.at("segments_encoded").get<std::size_t>(), total - done);
  std::size_t reused = 0;
  for (const auto& s : j.at("segments")) reused += s.at("reused").get<bool>();
  EXPECT_EQ(reused, done);
  EXPECT_FALSE(fs::exists(job_dir)) << "a finished job removes its state";
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.mp4"});

  const auto clean = test::run_pvt(job_args(dir / "clean.mp4"));
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(framemd5(out), framemd5(dir / "clean.mp4"));
}

TEST(Resume, InterruptKeepsTheStateAndSaysHowToResume) {
  test::TempDir dir;
  const std::string out = dir / "out.mp4";
  const fs::path job_dir = dir.path() / ".out.mp4.pvt-job";
  const std::string log = dir / "../interrupt.log";
  const pid_t pid = spawn_group(job_args(out), {slow_everywhere()}, log);
  ASSERT_TRUE(wait_for_finished(job_dir, 1, std::chrono::seconds(60)));
  kill(pid, SIGINT);
  const auto t0 = Clock::now();
  int status = 0;
  waitpid(pid, &status, 0);
  // Bounded, not timed: the workers are killed at once, the job then saves its state.
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  EXPECT_NE(last.find("run the same command again to resume"), std::string::npos) << last;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{".out.mp4.pvt-job"}) << "only the job folder is left";
  const auto state = state_in(job_dir);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->status, "interrupted");
  // Nothing but the state and the finished segments (with their stats) is kept; the workers' logs
  // (worker_N.log, one per slot) go with the rest.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(job_dir)) {
    const std::string name = e.path().filename().string();
    ++files;
    EXPECT_TRUE(name == "job.json" || name == "lock" || name.rfind("seg_", 0) == 0) << name;
    EXPECT_EQ(name.find(".part"), std::string::npos) << name;
  }
  EXPECT_EQ(files, 2 + 2 * state->finished.size());
}

TEST(Resume, ChangedSettingsOrInputRefuseToResumeAndSayWhy) {
  test::TempDir dir;
  const std::string out = dir / "out.mp4";
  // A job that fails after finishing some segments leaves a state (segment 3 fails every attempt).
  const auto failed = test::run_pvt(job_args(out), {"PVT_FAULT=fail:3"});
  ASSERT_EQ(failed.exit_code, 5) << failed.err;
  EXPECT_NE(failed.err.find("run the same command again to resume"), std::string::npos) << failed.err;
  EXPECT_FALSE(fs::exists(out));

  auto other = job_args(out);
  *std::find(other.begin(), other.end(), "ultrafast") = "veryfast";
  other.push_back("--crf");
  other.push_back("30");
  const auto refused = test::run_pvt(other);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("cannot resume"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("crf 23 -> 30"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("preset ultrafast -> veryfast"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--restart"), std::string::npos) << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;

  // The same settings on a copy of the input at another path: a different input.
  fs::copy_file(test::scene_clip(true), dir / "copy.mp4");
  auto moved = job_args(out);
  moved[1] = dir / "copy.mp4";
  const auto refused_input = test::run_pvt(moved);
  EXPECT_EQ(refused_input.exit_code, 2);
  EXPECT_NE(refused_input.err.find("the input is another file"), std::string::npos) << refused_input.err;

  // --restart discards the old state and succeeds with the new settings.
  other.push_back("--restart");
  const auto restarted = test::run_pvt(other);
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  EXPECT_FALSE(nlohmann::json::parse(restarted.out).at("resumed").get<bool>());
}

TEST(Resume, ResumeWithoutAJobIsAnError) {
  test::TempDir dir;
  auto a = job_args(dir / "out.mp4");
  a.push_back("--resume");
  const auto r = test::run_pvt(a);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no interrupted job to resume"), std::string::npos) << r.err;
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Resume, ADamagedFinishedSegmentIsEncodedAgain) {
  test::TempDir dir;
  const std::string out = dir / "out.mp4";
  const fs::path job_dir = dir.path() / ".out.mp4.pvt-job";
  const auto failed = test::run_pvt(job_args(out), {"PVT_FAULT=fail:3"});
  ASSERT_EQ(failed.exit_code, 5) << failed.err;
  const auto state = state_in(job_dir);
  ASSERT_TRUE(state.has_value());
  ASSERT_GE(state->finished.size(), 2u);
  // Flip a byte in one finished segment, delete another.
  const fs::path damaged = job_dir / state->finished[0].file;
  {
    std::fstream io(damaged, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(fs::file_size(damaged) / 2));
    io.put('\x5a');
  }
  fs::remove(job_dir / state->finished[1].file);

  const auto r = test::run_pvt(job_args(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is missing"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("segments_reused").get<std::size_t>(), state->finished.size() - 2);
  EXPECT_EQ(test::ffprobe_frames(out), 200);
}

// File names may be any bytes; JSON progress lines cannot carry those that are not UTF-8. A warning that
// quotes such a path (here: the damaged state of an output named in Latin-1) is still one valid JSON
// line, and the job goes on.
TEST(Resume, AWarningQuotingANonUtf8PathIsAValidJsonLine) {
  test::TempDir dir;
  const std::string out = dir / "caf\xe9.mp4";
  const auto failed = test::run_pvt(job_args(out), {"PVT_FAULT=fail:3"});
  ASSERT_EQ(failed.exit_code, 5) << failed.err;
  const fs::path state = dir.path() / ".caf\xe9.mp4.pvt-job" / "job.json";
  ASSERT_TRUE(fs::exists(state));
  { std::ofstream(state, std::ios::trunc) << "garbage"; }
  auto args = job_args(out);
  *std::find(args.begin(), args.end(), "none") = "json";
  const auto r = test::run_pvt(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool warned = false;
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (j.contains("warning")) {
      warned = true;
      EXPECT_NE(j["warning"].get<std::string>().find("caf\xEF\xBF\xBD.mp4.pvt-job"), std::string::npos)
          << line;
    }
  }
  EXPECT_TRUE(warned) << r.err;
  EXPECT_EQ(test::ffprobe_frames(out), 200);
}

// RLIMIT_FSIZE makes the final write fail with EFBIG, the path a full disk takes: a clear error, no
// output, the segments kept, and a rerun (limit lifted) that only assembles.
TEST(Resume, AFileSizeLimitFailsCleanlyAndTheJobResumesWithoutReencoding) {
  test::TempDir dir;
  const std::string out = dir / "out.mp4";
  // Segments are ~100 kB here; the whole output is larger than the limit.
  const auto clean = test::run_pvt(job_args(dir / "probe.mp4"));
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  const auto whole = fs::file_size(dir / "probe.mp4");
  fs::remove(dir / "probe.mp4");
  std::uint64_t largest_segment = 0;
  const auto clean_summary = nlohmann::json::parse(clean.out);
  for (const auto& s : clean_summary.at("segments"))
    largest_segment = std::max(largest_segment, s.at("bytes").get<std::uint64_t>());
  ASSERT_LT(largest_segment * 3, whole) << "the clip is too uniform for this test";

  const pid_t pid = fork();
  if (pid == 0) {
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = whole / 2;
    setrlimit(RLIMIT_FSIZE, &lim);
    const int fd = open((dir / "../fsize.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    dup2(fd, 1);
    std::vector<std::string> a = job_args(out);
    std::vector<char*> argv{const_cast<char*>(PVT_BINARY)};
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    execv(PVT_BINARY, argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by a signal (SIGXFSZ not ignored?)";
  EXPECT_EQ(WEXITSTATUS(status), 4);
  std::ifstream log(dir / "../fsize.log");
  std::stringstream err;
  err << log.rdbuf();
  EXPECT_NE(err.str().find("File too large"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("run the same command again to resume"), std::string::npos) << err.str();
  EXPECT_EQ(dir.entries(), std::vector<std::string>{".out.mp4.pvt-job"});

  const auto r = test::run_pvt(job_args(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("segments_encoded").get<int>(), 0);
  EXPECT_EQ(test::ffprobe_frames(out), 200);
}

// A real full disk: a tmpfs mounted for the test (skipped where mounting is not allowed, e.g. a container
// without CAP_SYS_ADMIN). First too small for the segments, then big enough for them but not for the
// assembled MP4 beside them, then big enough: each failure is exit 4 naming ENOSPC with nothing at the
// final path, and each rerun goes on from what was finished.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(fs::path where) : where_(std::move(where)) {
    fs::create_directories(where_);
    if (::mount("tmpfs", where_.c_str(), "tmpfs", 0, "size=64k") == 0)
      mounted_ = true;
    else
      why_ = std::string("cannot mount a tmpfs here: ") + std::strerror(errno);
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  bool resize(std::uint64_t bytes) {
    const std::string opts = "size=" + std::to_string((bytes + 4095) / 4096 * 4) + "k";
    return ::mount("tmpfs", where_.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) == 0;
  }

 private:
  fs::path where_;
  bool mounted_ = false;
  std::string why_;
};

TEST(Resume, AFullDiskFailsCleanlyAtEachStageAndTheJobResumesOnceThereIsSpace) {
  test::TempDir dir;
  SmallFilesystem small(dir.path() / "small");
  if (!small.mounted()) GTEST_SKIP() << small.why();
  const auto clean = test::run_pvt(job_args(dir / "probe.mp4"));
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  const auto whole = fs::file_size(dir / "probe.mp4");
  const std::string out = (dir.path() / "small" / "out.mp4").string();
  const auto entries = [&] {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir.path() / "small")) names.push_back(e.path().filename());
    return names;
  };

  // Room for about half the segments.
  ASSERT_TRUE(small.resize(whole / 2));
  auto r = test::run_pvt(job_args(out));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("free some space"), std::string::npos) << r.err;
  EXPECT_EQ(entries(), std::vector<std::string>{".out.mp4.pvt-job"});
  const fs::path job_dir = dir.path() / "small" / ".out.mp4.pvt-job";
  const auto first = state_in(job_dir);
  ASSERT_TRUE(first.has_value());
  EXPECT_LT(first->finished.size(), first->plan.size()) << "the disk filled up before the last segment";

  // Room for every segment, not for the MP4 assembled from them.
  ASSERT_TRUE(small.resize(whole * 3 / 2));
  r = test::run_pvt(job_args(out));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_EQ(entries(), std::vector<std::string>{".out.mp4.pvt-job"});
  const auto second = state_in(job_dir);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->finished.size(), second->plan.size()) << "the segments fit; the assembly did not";

  ASSERT_TRUE(small.resize(whole * 4));
  r = test::run_pvt(job_args(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("segments_encoded").get<int>(), 0) << "every segment was finished by the earlier runs";
  EXPECT_EQ(test::ffprobe_frames(out), 200);
  EXPECT_EQ(entries(), std::vector<std::string>{"out.mp4"});
}

}  // namespace
}  // namespace pvt

namespace pvt {
namespace {

std::vector<std::string> ladder_args(const std::string& out) {
  auto a = job_args(out);
  a.insert(a.end(), {"--ladder", "240,144", "--format", "hls+dash"});
  return a;
}

// A streaming set (two rungs, HLS and DASH over the same CMAF segments) killed mid-job resumes like a
// single file: the finished segments' rung files are reused, and the set is the clean run's, rung for rung.
TEST(Resume, AKilledLadderWithDashResumesToTheSameSet) {
  test::TempDir dir;
  const auto args = ladder_args;
  const std::string out = dir / "set";
  const fs::path job_dir = dir.path() / ".set.pvt-job";
  const auto before = kill_after_finished(args(out), job_dir, 2, dir / "../killed-ladder.log");
  ASSERT_TRUE(before.has_value());
  EXPECT_FALSE(fs::exists(fs::path(out) / "manifest.mpd"));
  const std::size_t done = before->finished.size();
  ASSERT_LT(done, before->plan.size()) << "the job finished before the kill; slow it down";
  for (const auto& f : before->finished) EXPECT_EQ(f.rung_files.size(), 1u) << "segment " << f.index;

  const auto r = test::run_pvt(args(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.at("resumed").get<bool>());
  EXPECT_EQ(j.at("segments_reused").get<std::size_t>(), done);
  EXPECT_TRUE(fs::exists(fs::path(out) / "manifest.mpd"));
  EXPECT_FALSE(fs::exists(job_dir)) << "a finished job removes its state";

  const std::string clean = dir / "clean";
  const auto c = test::run_pvt(args(clean));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  for (const char* playlist : {"index_240p.m3u8", "index_144p.m3u8", "manifest.mpd"})
    EXPECT_EQ(framemd5((fs::path(out) / playlist).string()), framemd5((fs::path(clean) / playlist).string()))
        << playlist;
}

// A ladder's worker that crashes is retried like a single output's: the job succeeds, the segment took two
// attempts, and every rung holds every frame.
TEST(Resume, ALadderSegmentThatCrashesIsRetried) {
  test::TempDir dir;
  const std::string out = dir / "set";
  const auto r = test::run_pvt(ladder_args(out), {"PVT_FAULT=crash:1:1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("segments").at(1).at("attempts"), 2);
  for (const char* playlist : {"index_240p.m3u8", "index_144p.m3u8"})
    EXPECT_EQ(test::ffprobe_frames((fs::path(out) / playlist).string()), 200) << playlist;
}

// Ctrl-C on a ladder: exit 130, no manifest published, only the job folder left to resume from.
TEST(Resume, AnInterruptedLadderPublishesNothingAndKeepsItsState) {
  test::TempDir dir;
  const std::string out = dir / "set";
  const fs::path job_dir = dir.path() / ".set.pvt-job";
  const pid_t pid = spawn_group(ladder_args(out), {slow_everywhere()}, dir / "../interrupt-ladder.log");
  ASSERT_TRUE(wait_for_finished(job_dir, 1, std::chrono::seconds(60)));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_FALSE(fs::exists(fs::path(out) / "master.m3u8"));
  EXPECT_FALSE(fs::exists(fs::path(out) / "manifest.mpd"));
  const auto state = state_in(job_dir);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->status, "interrupted");
}

}  // namespace
}  // namespace pvt
