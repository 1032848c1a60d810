#include "job_lookup.hpp"

#include <set>

namespace pvt::mcp {

namespace fs = std::filesystem;

namespace {

// The work folders of the outputs this server wrote or writes: the scan of the output directory is
// bounded, these are always looked at. An HLS folder's job folder is beside the folder, so both the
// playlist's folder and its parent.
std::vector<fs::path> work_folders(const std::vector<JobStatus>& jobs) {
  std::vector<fs::path> dirs;
  for (const auto& j : jobs) {
    const fs::path out(j.output);
    dirs.push_back(out.parent_path());
    if (j.format == "hls" || j.format == "dash" || j.format == "hls+dash")
      dirs.push_back(out.parent_path().parent_path());
  }
  return dirs;
}

std::vector<DiskJob> scan(const ToolEnv& env, const std::vector<JobStatus>& registered) {
  return find_disk_jobs(env.sandbox.root(), work_folders(registered));
}

}  // namespace

std::vector<JobStatus> all_jobs(const ToolEnv& env) {
  std::vector<JobStatus> jobs = env.jobs.list();
  std::set<std::string> active_outputs, reported;
  for (const auto& j : jobs) {
    if (!is_finished(j.state)) {
      active_outputs.insert(j.output);
      if (!j.resumes.empty()) reported.insert(j.resumes);
    } else if (j.resume_job_id) {
      reported.insert(*j.resume_job_id);
    }
  }
  for (const auto& d : scan(env, jobs)) {
    if (d.running || active_outputs.count(d.state.output) || reported.count(d.id)) continue;
    jobs.push_back(disk_job_status(d));  // in folder order: stable from call to call
  }
  return jobs;
}

std::optional<JobStatus> find_job(const ToolEnv& env, const std::string& id) {
  if (auto s = env.jobs.status(id)) return s;
  if (!is_disk_job_id(id)) return std::nullopt;
  if (auto s = env.jobs.resumer_of(id)) return s;
  const auto d = find_disk_job(env, id);
  if (!d || d->running) return std::nullopt;
  return disk_job_status(*d);
}

std::optional<DiskJob> find_disk_job(const ToolEnv& env, const std::string& id) {
  if (!is_disk_job_id(id)) return std::nullopt;
  for (auto& d : scan(env, env.jobs.list()))
    if (d.id == id) return std::move(d);
  return std::nullopt;
}

}  // namespace pvt::mcp
