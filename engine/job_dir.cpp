#include "job_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "atomic_file.hpp"
#include "error.hpp"

namespace pvt {
namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Is the lock in `dir` held by another open file description (a live job)?
bool lock_held(const fs::path& dir) {
  const int fd = open((dir / "lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);  // releases the lock if we took it
  return held;
}

}  // namespace

fs::path JobDir::path_for(const fs::path& parent, const std::string& name) {
  return parent / ("." + name + kJobDirSuffix);
}

JobDir::JobDir(fs::path dir, const std::string& output) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_))
    throw Error(ErrorCode::kOutput, dir_.string() + ": cannot create the job folder: " +
                                        (ec ? ec.message() : std::string("exists and is not a folder")));
  // O_CLOEXEC: workers must not inherit the lock, or a stray worker would keep the job "running".
  lock_fd_ = open((dir_ / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    throw Error(ErrorCode::kOutput, dir_.string() + ": cannot create the job lock: " + std::strerror(errno));
  // A status reader (find_job_dirs) tests the lock by taking it for an instant: a few short retries
  // keep that instant from refusing a job. A running job holds it for good, and is refused.
  bool locked = false;
  for (int attempt = 0; attempt < 10 && !locked; ++attempt) {
    locked = flock(lock_fd_, LOCK_EX | LOCK_NB) == 0;
    if (!locked) usleep(20000);
  }
  if (!locked) {
    const std::string holder = read_text(dir_ / "lock");
    close(lock_fd_);
    lock_fd_ = -1;
    keep_ = true;  // it is the other job's
    throw Error(ErrorCode::kOutput, output + ": another pvt job" +
                                        (holder.empty() ? std::string() : " (pid " + holder + ")") +
                                        " is writing this output");
  }
  const std::string pid = std::to_string(getpid());
  if (ftruncate(lock_fd_, 0) == 0 && write(lock_fd_, pid.data(), pid.size()) < 0) {
    // The pid is only for the message above.
  }
}

JobDir::~JobDir() {
  std::error_code ec;
  for (const auto& t : temporaries_) fs::remove_all(t, ec);
  if (!keep_) fs::remove_all(dir_, ec);
  if (lock_fd_ >= 0) close(lock_fd_);
}

std::optional<JobState> JobDir::load(std::string* damaged) const {
  std::error_code ec;
  if (!fs::exists(state_path(), ec)) return std::nullopt;
  try {
    return parse_job_state(read_text(state_path()));
  } catch (const Error& e) {
    if (damaged) *damaged = e.what();
    return std::nullopt;
  }
}

void JobDir::save(JobState& state) const {
  state.updated = utc_now_text();
  state.pid = getpid();
  const std::string text = job_state_text(state);
  const std::string path = state_path().string();
  const std::string tmp = temporary_sibling(path);
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorCode::kOutput, path + ": cannot write the job state: " + std::strerror(errno));
  std::size_t done = 0;
  int err = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (!err && fsync(fd) != 0) err = errno;
  if (close(fd) != 0 && !err) err = errno;
  if (!err && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err) {
    unlink(tmp.c_str());
    throw Error(ErrorCode::kOutput, path + ": cannot write the job state: " + std::strerror(err));
  }
}

void JobDir::clear_except(const std::vector<std::string>& keep) const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (name == "lock" || std::find(keep.begin(), keep.end(), name) != keep.end()) continue;
    fs::remove_all(e.path(), ec);
  }
}

std::vector<JobOnDisk> find_job_dirs(const fs::path& dir) {
  std::vector<JobOnDisk> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() < 2 || name[0] != '.' || !ends_with(name, kJobDirSuffix) || !e.is_directory(ec)) continue;
    JobOnDisk j;
    j.dir = e.path();
    j.running = lock_held(j.dir);
    const fs::path state = j.dir / "job.json";
    if (!fs::exists(state, ec)) {
      j.problem = "no job.json";
    } else {
      try {
        j.state = parse_job_state(read_text(state));
      } catch (const Error& err) {
        j.problem = err.what();
      }
    }
    found.push_back(std::move(j));
  }
  std::sort(found.begin(), found.end(), [](const JobOnDisk& a, const JobOnDisk& b) { return a.dir < b.dir; });
  return found;
}

}  // namespace pvt
