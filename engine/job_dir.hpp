// The job folder beside the output, `.NAME.pvt-job/`: job.json (job_state.hpp), the segments, their
// descriptors and worker logs, and the job's temporary files. One folder per output, so rerunning a
// command finds its predecessor's work. An exclusive lock (flock on `lock`, released by the kernel
// when the process dies, SIGKILL included) keeps two jobs from writing one output and tells a status
// reader whether a job on disk is still running.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "job_state.hpp"

namespace pvt {

inline constexpr const char* kJobDirSuffix = ".pvt-job";

class JobDir {
 public:
  // The folder for an output whose final files are named `name`, in `parent`.
  static std::filesystem::path path_for(const std::filesystem::path& parent, const std::string& name);

  // Creates the folder if needed and takes its lock. Throws Error(kOutput) when another process holds
  // it ("another pvt job (pid N) is writing OUTPUT") or the folder cannot be made.
  JobDir(std::filesystem::path dir, const std::string& output);
  // Removes the temporaries; removes the whole folder unless keep() was called.
  ~JobDir();
  JobDir(const JobDir&) = delete;
  JobDir& operator=(const JobDir&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path state_path() const { return dir_ / "job.json"; }

  // The saved state, if there is one. A job.json that cannot be parsed is reported through `damaged`
  // and treated as absent (the job starts over: nothing in it can be trusted).
  std::optional<JobState> load(std::string* damaged) const;
  // Writes job.json atomically and durably (fsync before the rename).
  void save(JobState& state) const;
  // Removes everything in the folder except the lock and the files named in `keep` (a fresh start, or a
  // resume clearing out what a killed run left half-written).
  void clear_except(const std::vector<std::string>& keep) const;

  void add_temporary(const std::string& path) { temporaries_.push_back(path); }
  // Keep the folder when the job ends (state to resume from, or --keep-work).
  void keep(bool k) { keep_ = k; }

 private:
  std::filesystem::path dir_;
  int lock_fd_ = -1;
  bool keep_ = false;
  std::vector<std::string> temporaries_;
};

// A job folder found on disk, for status reports (the MCP server lists interrupted jobs).
struct JobOnDisk {
  std::filesystem::path dir;
  bool running = false;  // its lock is held by a live process
  std::optional<JobState> state;
  std::string problem;  // why state is empty (no job.json, unreadable)
};

// Every `.*.pvt-job` folder directly inside `dir`.
std::vector<JobOnDisk> find_job_dirs(const std::filesystem::path& dir);

}  // namespace pvt
