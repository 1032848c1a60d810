// A child process started from an argument vector (posix_spawn, never a shell), with its stdout on a
// pipe the parent reads and its stderr in a file. The destructor kills and reaps a child still running,
// so no worker outlives the object that started it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pvt {

class ChildProcess {
 public:
  // argv[0] is the executable path. extra_env entries ("NAME=value") are added to this process's
  // environment. stderr_path: file that receives the child's stderr ("" keeps the parent's).
  // stdin_pipe: the child reads its stdin from a pipe the parent writes (write_line), else /dev/null.
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
               const std::string& stderr_path, bool stdin_pipe = false);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return out_fd_; }
  // Reads what is available on stdout (non-blocking) and returns complete lines; sets eof at the end.
  std::vector<std::string> read_lines(bool& eof);
  // Writes one line to the child's stdin pipe; false when the child is gone (EPIPE) or has no pipe.
  bool write_line(const std::string& line);
  // Closes the stdin pipe: the child reads end of input.
  void close_stdin();
  // False once the child has exited (reaped here without blocking: an idle worker that died is noticed
  // before it is handed work).
  bool running();
  void kill(int signal);
  // Blocks until the child exits; returns its exit code, or 128 + signal when killed by a signal.
  int wait();
  // Peak resident memory of the child: while it runs, its high-water mark so far (/proc VmHWM); after
  // wait(), what the kernel accounted at exit (wait4 ru_maxrss). 0 when unknown.
  std::int64_t peak_rss_bytes() const;

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int in_fd_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::int64_t exit_maxrss_ = 0;
  std::string partial_;
};

// Path of the running executable (/proc/self/exe), so the job can start `pvt worker` from the same build.
std::string current_executable();

// The last non-empty line a pvt child wrote to its stderr log, "pvt: error: " taken off: its one-line
// error. Empty when there is none.
std::string last_error_line(const std::string& log_path);

}  // namespace pvt
