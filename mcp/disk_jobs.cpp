#include "disk_jobs.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "error.hpp"
#include "job_dir.hpp"

namespace pvt::mcp {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_job_folder_name(const std::string& name) {
  return name.size() > 1 + std::strlen(kJobDirSuffix) && name[0] == '.' && ends_with(name, kJobDirSuffix);
}

// Engine ids are "<pid>-<ns>"; anything else in a job.json (damaged, or not written by pvt) would make an
// id the model cannot pass back reliably.
bool is_plain_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

bool is_real_directory(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(p, ec));
}

// The folders under `dir` that hold a job folder. Symlinks are never followed (they could lead out of
// the output directory) and hidden folders are skipped (job folders themselves, and whatever else
// starts with a dot is not an output).
void collect_job_parents(const fs::path& dir, int depth, int& budget, std::vector<fs::path>& found) {
  std::error_code ec;
  fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  bool holds_job = false;
  std::vector<fs::path> subdirs;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (--budget < 0) break;
    std::error_code st_ec;
    if (!fs::is_directory(it->symlink_status(st_ec)) || st_ec) continue;
    const std::string name = it->path().filename().string();
    if (is_job_folder_name(name))
      holds_job = true;
    else if (name[0] != '.' && depth < kScanDepth)
      subdirs.push_back(it->path());
  }
  if (holds_job) found.push_back(dir);
  for (const auto& s : subdirs) {
    if (budget <= 0) break;
    collect_job_parents(s, depth + 1, budget, found);
  }
}

std::optional<DiskJob> to_disk_job(JobOnDisk&& j) {
  if (!j.state || j.state->status == "complete" || !is_real_directory(j.dir)) return std::nullopt;
  DiskJob d;
  d.id = kDiskJobPrefix + j.state->job_id;
  d.dir = std::move(j.dir);
  d.running = j.running;
  d.state = std::move(*j.state);
  return d;
}

bool inside(const fs::path& root, const fs::path& p) {
  const fs::path rel = p.lexically_normal().lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

bool is_disk_job_id(const std::string& id) {
  return id.rfind(kDiskJobPrefix, 0) == 0 && is_plain_id(id.substr(std::strlen(kDiskJobPrefix)));
}

std::optional<std::string> disk_job_id_in(const fs::path& dir) {
  std::ifstream in(dir / "job.json", std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  try {
    const pvt::JobState state = parse_job_state(text.str());
    if (!is_plain_id(state.job_id)) return std::nullopt;
    return kDiskJobPrefix + state.job_id;
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<fs::path> engine_output_for(const fs::path& dir, const pvt::JobState& state) {
  const std::string name = dir.filename().string();
  if (!is_job_folder_name(name)) return std::nullopt;
  const std::string base = name.substr(1, name.size() - 1 - std::strlen(kJobDirSuffix));
  const fs::path parent = dir.parent_path();
  const fs::path out = fs::path(state.output).lexically_normal();
  // MP4 file or .m3u8 playlist: the folder is named after the output itself, beside it.
  if (out.parent_path() == parent && out.filename() == base &&
      (state.format == "mp4" ||
       (state.format == "hls" && (out.extension() == ".m3u8" || out.extension() == ".mpd"))))
    return out;
  // HLS folder: the output is FOLDER/index.m3u8 (FOLDER/master.m3u8 for a ladder, FOLDER/manifest.mpd for
  // DASH) and the job folder is named after FOLDER, beside it.
  if (state.format == "hls" &&
      (out.filename() == "index.m3u8" || out.filename() == "master.m3u8" ||
       out.filename() == "manifest.mpd") &&
      out.parent_path().filename() == base && out.parent_path().parent_path() == parent)
    return out.parent_path();
  return std::nullopt;
}

std::vector<DiskJob> find_disk_jobs(const fs::path& root, const std::vector<fs::path>& extra_dirs) {
  std::vector<fs::path> parents;
  int budget = kScanEntries;
  collect_job_parents(root, 0, budget, parents);
  for (const auto& d : extra_dirs)
    if ((d == root || inside(root, d)) && is_real_directory(d)) parents.push_back(d.lexically_normal());
  std::sort(parents.begin(), parents.end());
  parents.erase(std::unique(parents.begin(), parents.end()), parents.end());

  std::vector<DiskJob> jobs;
  for (const auto& parent : parents) {
    for (auto& j : find_job_dirs(parent)) {
      auto d = to_disk_job(std::move(j));
      if (!d || !is_plain_id(d->state.job_id)) continue;
      const auto out = engine_output_for(d->dir, d->state);
      if (!out) continue;  // moved or copied: resuming it would write somewhere else
      d->engine_output = *out;
      jobs.push_back(std::move(*d));
    }
  }
  std::sort(jobs.begin(), jobs.end(), [](const DiskJob& a, const DiskJob& b) { return a.dir < b.dir; });
  jobs.erase(std::unique(jobs.begin(), jobs.end(),
                         [](const DiskJob& a, const DiskJob& b) { return a.dir == b.dir; }),
             jobs.end());
  return jobs;
}

std::optional<DiskJob> disk_job_for_output(const fs::path& engine_output) {
  const fs::path parent = engine_output.parent_path();
  const fs::path dir = JobDir::path_for(parent, engine_output.filename().string());
  if (!is_real_directory(dir)) return std::nullopt;
  for (auto& j : find_job_dirs(parent)) {
    if (j.dir != dir) continue;
    auto d = to_disk_job(std::move(j));
    if (d) d->engine_output = engine_output;
    return d;
  }
  return std::nullopt;
}

JobStatus disk_job_status(const DiskJob& job) {
  const pvt::JobState& st = job.state;
  JobStatus s;
  s.id = job.id;
  s.state = JobState::kInterrupted;
  s.stage = "interrupted";
  s.created_at = st.started;
  s.updated_at = st.updated.empty() ? st.started : st.updated;
  std::int64_t planned = 0, done = 0;
  for (const auto& seg : st.plan) planned += seg.frame_count();
  for (const auto& f : st.finished)
    if (f.index >= 0 && f.index < static_cast<int>(st.plan.size())) done += st.plan[f.index].frame_count();
  JobProgress p;
  p.stage = "encode";
  p.frames_total = st.input.frames > 0 ? st.input.frames : planned;
  p.frames_done = done;
  s.percent = job_percent(p, false);
  s.frames_done = p.frames_done;
  s.frames_total = p.frames_total;
  s.segments_done = static_cast<int>(st.finished.size());
  s.segments_total = static_cast<int>(st.plan.size());
  s.input = st.input.path;
  s.output = st.output;
  s.format = st.format;
  // The engine's message for a signal is a bare "interrupted": say what that means here.
  const std::string process = "its process (pid " + std::to_string(st.pid) + ")";
  if (st.status == "running")
    s.error = process + " ended without finishing it (killed or crashed)";
  else if (st.status == "interrupted")
    s.error = process + " was stopped before the job finished" +
              (st.message.empty() || st.message == "interrupted" ? std::string() : ": " + st.message);
  else
    s.error = st.message.empty() ? st.status : st.message;
  s.resume_job_id = job.id;
  s.saved_dir = job.dir.string();
  return s;
}

bool discard_disk_job(const DiskJob& job) {
  if (!is_real_directory(job.dir)) return true;
  const int fd = open((job.dir / "lock").c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return false;
  }
  std::error_code ec;
  fs::remove_all(job.dir, ec);
  if (fd >= 0) close(fd);
  return !ec;
}

}  // namespace pvt::mcp
