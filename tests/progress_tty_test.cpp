// On a terminal, `pvt transcode` draws a redrawn progress bar on stderr (frames, fps, speed, ETA).
// The test gives pvt a real pseudo-terminal (forkpty) and reads what it draws.
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test_support.hpp"

namespace pvt {
namespace {

// Runs argv with stdin/stdout/stderr on a new pseudo-terminal; returns everything it wrote, and its status.
std::string run_on_tty(const std::vector<std::string>& argv, int& status) {
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(master, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(master);
  waitpid(pid, &status, 0);
  return out;
}

TEST(ProgressTty, TranscodeDrawsABarWithFramesSpeedAndEta) {
  test::TempDir dir;
  int status = -1;
  const std::string screen =
      run_on_tty({PVT_BINARY, "transcode", test::scene_clip(), "-o", dir / "bar.mp4", "--preset", "ultrafast"}, status);
  ASSERT_TRUE(WIFEXITED(status)) << screen;
  EXPECT_EQ(WEXITSTATUS(status), 0) << screen;
  EXPECT_NE(screen.find("\r\033[2K"), std::string::npos) << "the bar is redrawn in place";
  EXPECT_NE(screen.find("200/200 frames"), std::string::npos) << screen;
  EXPECT_NE(screen.find("fps"), std::string::npos);
  EXPECT_NE(screen.find("ETA"), std::string::npos);
  EXPECT_NE(screen.find("100%"), std::string::npos);
}

}  // namespace
}  // namespace pvt
