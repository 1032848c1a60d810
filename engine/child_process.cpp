#include "child_process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "error.hpp"

extern char** environ;

namespace pvt {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                           const std::string& stderr_path, bool stdin_pipe) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw Error(ErrorCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  int in_fds[2] = {-1, -1};
  if (stdin_pipe && pipe2(in_fds, O_CLOEXEC) != 0) {
    close(fds[0]);
    close(fds[1]);
    throw Error(ErrorCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  if (stdin_pipe)
    posix_spawn_file_actions_adddup2(&actions, in_fds[0], STDIN_FILENO);
  else
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!stderr_path.empty())
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_store) env.push_back(e.data());
  env.push_back(nullptr);

  const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (in_fds[0] >= 0) close(in_fds[0]);
  in_fd_ = in_fds[1];
  if (rc != 0) {
    close(fds[0]);
    if (in_fd_ >= 0) close(in_fd_);
    in_fd_ = -1;
    throw Error(ErrorCode::kInternal, "cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  out_fd_ = fds[0];
  fcntl(out_fd_, F_SETFL, fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (in_fd_ >= 0) close(in_fd_);
}

namespace {

// SIGPIPE blocked on this thread while it writes to a child's pipe, so a child that died makes write()
// fail with EPIPE instead of killing the caller, whatever its SIGPIPE disposition (a library user's
// program need not ignore it). A SIGPIPE raised meanwhile is taken off the thread's pending set before the
// old mask returns, so it is never delivered late.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigpending(&before_);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    sigset_t now;
    sigpending(&now);
    if (sigismember(&now, SIGPIPE) && !sigismember(&before_, SIGPIPE)) {
      const timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_{}, old_{}, before_{};
};

}  // namespace

bool ChildProcess::write_line(const std::string& line) {
  if (in_fd_ < 0) return false;
  const std::string text = line + "\n";
  const SigpipeBlocked no_sigpipe;
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(in_fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // EPIPE: the child is gone
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool ChildProcess::running() {
  if (reaped_ || pid_ <= 0) return false;
  rusage ru{};
  const pid_t r = wait4(pid_, &status_, WNOHANG, &ru);
  if (r == pid_) {
    exit_maxrss_ = static_cast<std::int64_t>(ru.ru_maxrss) * 1024;
    reaped_ = true;
  }
  return !reaped_;
}

void ChildProcess::close_stdin() {
  if (in_fd_ >= 0) close(in_fd_);
  in_fd_ = -1;
}

std::vector<std::string> ChildProcess::read_lines(bool& eof) {
  std::vector<std::string> lines;
  eof = false;
  char buf[4096];
  while (true) {
    const ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n > 0) {
      partial_.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) eof = true;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  std::size_t pos;
  while ((pos = partial_.find('\n')) != std::string::npos) {
    lines.push_back(partial_.substr(0, pos));
    partial_.erase(0, pos + 1);
  }
  return lines;
}

void ChildProcess::kill(int signal) {
  if (!reaped_ && pid_ > 0) ::kill(pid_, signal);
}

int ChildProcess::wait() {
  if (!reaped_) {
    rusage ru{};
    while (wait4(pid_, &status_, 0, &ru) < 0 && errno == EINTR) {
    }
    exit_maxrss_ = static_cast<std::int64_t>(ru.ru_maxrss) * 1024;
    reaped_ = true;
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return 255;
}

std::int64_t ChildProcess::peak_rss_bytes() const {
  if (reaped_) return exit_maxrss_;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    try {
      return std::stoll(line.substr(6)) * 1024;
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::string current_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error(ErrorCode::kInternal, "cannot find the pvt executable: " + ec.message());
  return p.string();
}

std::string last_error_line(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  const std::string prefix = "pvt: error: ";
  if (last.rfind(prefix, 0) == 0) last = last.substr(prefix.size());
  return last;
}

}  // namespace pvt
