#include "slurm_executor.hpp"

#include <sys/vfs.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "array_task.hpp"
#include "atomic_file.hpp"
#include "cancellation.hpp"
#include "child_process.hpp"
#include "command_output.hpp"
#include "error.hpp"

namespace pvt {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr long kTmpfsMagic = 0x01021994;
constexpr long kRamfsMagic = 0x858458f6;

[[noreturn]] void refuse(const std::string& why) {
  throw Error(ErrorCode::kUsage, "--executor slurm: " + why);
}

std::string scratch_dir(const fs::path& job_dir) {
  return array_dir(job_dir).string();
}

// What a POSIX shell reads as exactly `s`: the array's batch script is the one place a shell is involved
// (sbatch runs scripts), and it only execs pvt with two quoted paths.
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

fs::path write_task_script(const fs::path& job_dir) {
  const fs::path script = array_dir(job_dir) / "task.sh";
  write_file_atomically(
      script.string(),
      "#!/bin/sh\n# Written by pvt: one array task runs one segment (array_task.hpp).\nexec " +
          shell_quote(current_executable()) + " worker --array-task " + shell_quote(job_dir.string()) + "\n");
  fs::permissions(script, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  return script;
}

// "0-3,7,9-10%4": Slurm's array index list, runs compressed, with the concurrency cap.
std::string array_spec(std::vector<int> indices, int concurrency) {
  std::sort(indices.begin(), indices.end());
  std::string spec;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    if (!spec.empty()) spec += ",";
    spec += std::to_string(indices[i]);
    if (j > i) {
      spec += '-';  // appended apart: GCC 12 warns falsely (-Wrestrict) on "-" + to_string()
      spec += std::to_string(indices[j]);
    }
    i = j + 1;
  }
  if (concurrency > 0) spec += "%" + std::to_string(concurrency);
  return spec;
}

int max_array_size(const std::string& scratch) {
  const CommandOutput r = run_command({"scontrol", "show", "config"}, scratch);
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("MaxArraySize", 0) == 0) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) return std::atoi(line.c_str() + eq + 1);
    }
  return 1001;  // Slurm's default
}

struct QueuedTask {
  std::string job_id;
  std::string state;  // PENDING, RUNNING, COMPLETING...
};
using Queue = std::map<int, QueuedTask>;  // by array index

// Every task of these jobs still in the queue, by the job's index (Slurm's plus the array's offset);
// nullopt when squeue could not say (the controller busy or gone for a moment), so no task is taken for
// ended on that round.
std::optional<Queue> queued_tasks(const std::vector<std::string>& job_ids,
                                  const std::map<std::string, int>& offsets, const std::string& scratch) {
  Queue tasks;
  for (const auto& id : job_ids) {
    const auto off = offsets.find(id);
    const int offset = off == offsets.end() ? 0 : off->second;
    const CommandOutput r = run_command({"squeue", "-h", "-r", "-j", id, "-o", "%i %T"}, scratch);
    // A job purged from the controller is an error here ("Invalid job id"): it has no tasks left.
    if (r.exit_code != 0 && r.err.find("Invalid job id") != std::string::npos) continue;
    if (r.exit_code != 0) return std::nullopt;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      const auto us = line.find('_'), sp = line.find(' ');
      if (us == std::string::npos || sp == std::string::npos || sp < us) continue;
      const std::string index = line.substr(us + 1, sp - us - 1);
      if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos) continue;
      tasks[offset + std::stoi(index)] = {id, line.substr(sp + 1)};
    }
  }
  return tasks;
}

std::string last_line_of(const fs::path& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last;
}

std::vector<ArrayTaskEntry> load_entries(const fs::path& job_dir) {
  try {
    return read_array_tasks(job_dir);
  } catch (const Error&) {
    return {};  // none yet (or unreadable): every index is submitted afresh
  }
}

json load_state(const fs::path& job_dir) {
  std::ifstream in(array_dir(job_dir) / "slurm.json");
  if (!in) return json::object();
  const json j = json::parse(in, nullptr, false);
  return j.is_object() ? j : json::object();
}

}  // namespace

void slurm_preflight(const SlurmOptions& options, const fs::path& job_dir) {
  for (const char* tool : {"sbatch", "squeue", "scancel", "sinfo", "scontrol"})
    if (find_on_path(tool).empty())
      refuse(std::string(tool) +
             " not found on PATH (install Slurm's client commands, or run where they are)");
  const std::string scratch = job_dir.parent_path().string();
  const CommandOutput parts = run_command({"sinfo", "-h", "-o", "%R %D"}, scratch);
  if (parts.exit_code != 0) refuse("cannot reach the Slurm controller: " + parts.first_error_line());
  std::set<std::string> partitions;
  int nodes = 0;
  std::istringstream in(parts.out);
  for (std::string name; in >> name;) {
    int count = 0;
    in >> count;
    partitions.insert(name);
    nodes = std::max(nodes, count);
  }
  if (!options.partition.empty() && !partitions.count(options.partition)) {
    std::string have;
    for (const auto& p : partitions) have += (have.empty() ? "" : ", ") + p;
    refuse("the cluster has no partition '" + options.partition + "' (it has: " + have + ")");
  }
  // Memory-backed folders are seen by this node only. A local disk cannot be told from shared storage
  // here: a task that cannot find its descriptor fails saying so.
  struct statfs fsinfo {};
  if (nodes > 1 && statfs(job_dir.parent_path().c_str(), &fsinfo) == 0 &&
      (fsinfo.f_type == kTmpfsMagic || fsinfo.f_type == kRamfsMagic))
    refuse("the job folder " + job_dir.string() + " is on tmpfs, which the cluster's other " +
           std::to_string(nodes - 1) + " node(s) cannot see; write the output to storage every node shares");
}

namespace {

// One run of the array: what was submitted, what each segment is doing, and the files it left.
class SlurmRun {
 public:
  SlurmRun(const SlurmConfig& config, const ExecutorJob& job, SegmentReports& reports)
      : config_(config), job_(job), reports_(reports), scratch_(scratch_dir(job.dir)) {
    fs::create_directories(array_dir(job.dir));
    for (const auto& t : job.tasks) watched_[t.segment] = Watched{t};
    // An explicit hardware encoder: every task tries it first, and one whose session fails runs again on
    // the CPU, that failure not counted (as in the local pool).
    if (job.slots.cpu_fallback_only && !job.slots.hardware.empty())
      hw_backend_ = job.slots.hardware.front().backend;
    const json saved = load_state(job.dir);
    if (saved.contains("job_ids"))
      for (const auto& id : saved["job_ids"]) job_ids_.push_back(id.get<std::string>());
    // An earlier run's entries stay, at their indices: its tasks still in the queue read them when they
    // start. A fresh run numbers the tasks in the order given, longest first, and Slurm starts pending
    // array tasks lowest index first.
    entries_ = load_entries(job.dir);
    for (std::size_t i = 0; i < entries_.size(); ++i) index_of_[entries_[i].segment] = static_cast<int>(i);
    for (const auto& t : job.tasks)
      if (!index_of_.count(t.segment)) {
        index_of_[t.segment] = static_cast<int>(entries_.size());
        entries_.push_back({t.segment, "", 0});
      }
    // Slurm takes array indices below MaxArraySize: a job with more segments is submitted as several
    // arrays, each task adding its array's offset (PVT_ARRAY_OFFSET) to its index.
    max_array_ = std::max(1, max_array_size(scratch_));
    if (saved.contains("offsets") && saved["offsets"].is_object())
      for (const auto& [id, off] : saved["offsets"].items()) offsets_[id] = off.get<int>();
  }

  void start() {
    const Queue queued = queued_tasks(job_ids_, offsets_, scratch_).value_or(Queue{});
    std::vector<int> submit, taken;
    for (auto& [segment, w] : watched_) {
      const Adopted a = adopt(w, queued);
      if (a == Adopted::kNo) submit.push_back(segment);
      if (a == Adopted::kFinished) taken.push_back(segment);
    }
    for (int seg : taken) watched_.erase(seg);
    if (!submit.empty()) submit_tasks(submit);
  }

  void watch() {
    while (!watched_.empty()) {
      if (stop_requested(job_.cancel)) cancel_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      reports_.tick();
      const auto queued = queued_tasks(job_ids_, offsets_, scratch_);
      if (queued) report_states(*queued);
      std::vector<int> resubmit;
      for (auto it = watched_.begin(); it != watched_.end();) {
        Watched& w = it->second;
        const auto outcome = poll(w, queued);
        if (outcome == Outcome::kRunning) {
          ++it;
          continue;
        }
        if (outcome == Outcome::kRetry) {
          resubmit.push_back(w.task.segment);
          ++it;
        } else {
          it = watched_.erase(it);
        }
      }
      if (!resubmit.empty()) submit_tasks(resubmit);
    }
  }

  // The unfinished segments by the state of their tasks ("SUBMITTED" until squeue lists them).
  void report_states(const Queue& queued) {
    std::map<std::string, int> states;
    for (const auto& [seg, w] : watched_) {
      const auto q = queued.find(index_of_.at(seg));
      ++states[q != queued.end() ? q->second.state : std::string("SUBMITTED")];
    }
    reports_.cluster_state(job_ids_, states);
  }

  ExecutorStats stats() const {
    ExecutorStats s;
    s.max_running = max_running_;
    s.job_id = job_ids_.empty() ? "" : job_ids_.front();
    return s;
  }

 private:
  struct Watched {
    SegmentTask task;
    int attempts = 0;      // every attempt (the worker's PVT_WORKER_ATTEMPT)
    int cpu_attempts = 0;  // the ones that count against max_attempts
    std::string backend;   // what the running attempt encodes with
    std::string fallback_from, fallback_reason;
    std::string job_id;  // the array submission running it now
    int absent_polls = 0;
    int frames = -1;
  };
  enum class Outcome { kRunning, kDone, kRetry };
  enum class Adopted { kNo, kWatching, kFinished };

  // A task of an earlier coordinator (killed outright, its array left running): still queued, so it is
  // watched, or finished well, so its segment is taken after the job's checks.
  Adopted adopt(Watched& w, const Queue& queued) {
    const int index = index_of_.at(w.task.segment);
    const auto q = queued.find(index);
    const auto result = read_array_result(job_.dir, index);
    const int attempt = entries_[index].attempt;
    const bool done_well = result && result->exit_code == 0 && result->attempt == attempt && attempt > 0 &&
                           result->segment == w.task.segment;
    if (q == queued.end() && !done_well) return Adopted::kNo;
    w.attempts = attempt;
    w.backend = hw_backend_.empty() ? job_.slots.cpu_backend : hw_backend_;
    if (hw_backend_.empty()) w.cpu_attempts = attempt;
    reports_.started(w.task, w.backend, "");
    if (q != queued.end()) {
      w.job_id = q->second.job_id;
      return Adopted::kWatching;
    }
    return finish(w) ? Adopted::kFinished : Adopted::kNo;
  }

  void submit_tasks(const std::vector<int>& segments) {
    std::vector<int> indices;
    for (int seg : segments) {
      const int index = index_of_.at(seg);
      indices.push_back(index);
      Watched& w = watched_.at(seg);
      ++w.attempts;
      w.backend = w.fallback_from.empty() && !hw_backend_.empty() ? hw_backend_ : job_.slots.cpu_backend;
      if (w.backend == job_.slots.cpu_backend) ++w.cpu_attempts;
      // The job rewrites the descriptor now (the backend, a bitrate budget): before the task reads it.
      reports_.started(w.task, w.backend, w.fallback_from);
      entries_[index] = {seg, w.task.descriptor_path, w.attempts};
      std::error_code ec;
      for (const char* suffix : {".result.json", ".progress"})
        fs::remove(array_task_file(job_.dir, index, suffix), ec);
      w.absent_polls = 0;
      w.frames = -1;
    }
    write_array_tasks(job_.dir, entries_);
    std::map<int, std::vector<int>> by_array;  // offset -> the indices it holds, less the offset
    for (int index : indices) by_array[index / max_array_ * max_array_].push_back(index % max_array_);
    std::map<int, std::string> id_at;
    for (const auto& [offset, local] : by_array) {
      const std::string id = sbatch(local, offset);
      job_ids_.push_back(id);
      offsets_[id] = offset;
      id_at[offset] = id;
      write_file_atomically((array_dir(job_.dir) / "slurm.json").string(),
                            json{{"job_ids", job_ids_}, {"offsets", offsets_}}.dump() + "\n");
    }
    for (int seg : segments) watched_.at(seg).job_id = id_at.at(index_of_.at(seg) / max_array_ * max_array_);
  }

  std::string sbatch(const std::vector<int>& indices, int offset) {
    const fs::path script = write_task_script(job_.dir);
    std::vector<std::string> argv{"sbatch",
                                  "--parsable",
                                  "--job-name=" + config_.job_name,
                                  "--array=" + array_spec(indices, config_.concurrency),
                                  "--output=" + (array_dir(job_.dir) / "slurm-%A_%a.out").string(),
                                  "--cpus-per-task=" + std::to_string(std::max(1, config_.cpus_per_task)),
                                  "--chdir=" + job_.dir.string()};
    if (offset > 0) argv.push_back("--export=ALL,PVT_ARRAY_OFFSET=" + std::to_string(offset));
    if (config_.mem_bytes > 0)
      argv.push_back("--mem=" + std::to_string(std::max<std::int64_t>(1, config_.mem_bytes >> 20)) + "M");
    const SlurmOptions& o = config_.options;
    if (!o.partition.empty()) argv.push_back("--partition=" + o.partition);
    if (!o.account.empty()) argv.push_back("--account=" + o.account);
    if (!o.time_limit.empty()) argv.push_back("--time=" + o.time_limit);
    argv.insert(argv.end(), o.extra.begin(), o.extra.end());
    argv.push_back(script.string());
    const CommandOutput r = run_command(argv, scratch_);
    std::string id = r.out.substr(0, r.out.find_first_of(";\n"));
    if (r.exit_code != 0 || id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
      throw Error(ErrorCode::kEncode, "--executor slurm: sbatch refused the array: " + r.first_error_line());
    return id;
  }

  Outcome poll(Watched& w, const std::optional<Queue>& queued) {
    const int seg = w.task.segment;
    const int index = index_of_.at(seg);
    const int frames = read_array_progress(job_.dir, index);
    if (frames >= 0 && frames != w.frames) reports_.progress(seg, w.frames = frames);
    if (const auto result = read_array_result(job_.dir, index); result && result->attempt == w.attempts) {
      if (result->exit_code == 0 && finish(w)) return Outcome::kDone;
      if (result->exit_code != 0) return fail(w, result->message + " (on " + result->host + ")");
      return fail(w, last_failure_);
    }
    if (!queued) return Outcome::kRunning;  // the queue is unknown this round
    const auto state = queued->find(index);
    if (state != queued->end()) {
      w.absent_polls = 0;
      if (state->second.state == "RUNNING") running_now_.insert(seg);
      max_running_ = std::max(max_running_, static_cast<int>(running_now_.size()));
      return Outcome::kRunning;
    }
    running_now_.erase(seg);
    // Gone from the queue without a result: give shared storage two polls to show the file, then it
    // ended on Slurm's side (cancelled, out of time, its node lost); Slurm's output file says which.
    if (++w.absent_polls < 3) return Outcome::kRunning;
    const std::string slurm_says =
        last_line_of(array_dir(job_.dir) /
                     ("slurm-" + w.job_id + "_" + std::to_string(index - offset_of(w.job_id)) + ".out"));
    return fail(
        w, "Slurm task " + w.job_id + "_" + std::to_string(index - offset_of(w.job_id)) +
               " ended without a result" +
               (slurm_says.empty() ? " (cancelled, out of time, or its node failed)" : ": " + slurm_says));
  }

  // The job's checks on a task that says it succeeded; false (last_failure_ set) when they fail.
  bool finish(Watched& w) {
    running_now_.erase(w.task.segment);
    SegmentResult r;
    try {
      r.stats = read_worker_stats(w.task.stats_path);
    } catch (const Error& e) {
      last_failure_ = e.what();
      return false;
    }
    last_failure_ = r.stats.frames != w.task.expected_frames
                        ? "encoded " + std::to_string(r.stats.frames) + " frames, expected " +
                              std::to_string(w.task.expected_frames)
                        : reports_.check(w.task);
    if (!last_failure_.empty()) return false;
    r.attempts = w.attempts;
    r.fallback_from = w.fallback_from;
    r.fallback_reason = w.fallback_reason;
    r.slot = -1;
    reports_.finished(w.task, r);
    return true;
  }

  Outcome fail(Watched& w, const std::string& reason) {
    if (w.backend != job_.slots.cpu_backend) {
      w.fallback_from = w.backend;
      w.fallback_reason = reason;
      reports_.failed(w.task, reason, true);
      return Outcome::kRetry;
    }
    const bool retry = w.cpu_attempts < job_.max_attempts;
    reports_.failed(w.task, reason, retry);
    if (retry) return Outcome::kRetry;
    cancel_queued();
    throw Error(ErrorCode::kEncode, "segment " + std::to_string(w.task.segment) + " failed after " +
                                        std::to_string(w.attempts) + " attempts: " + reason);
  }

  void cancel_queued() {
    if (job_ids_.empty()) return;
    std::vector<std::string> argv{"scancel"};
    argv.insert(argv.end(), job_ids_.begin(), job_ids_.end());
    run_command(argv, scratch_);
    // scancel returns at once; the tasks leave the queue when their processes are gone.
    const auto deadline = Clock::now() + std::chrono::seconds(15);
    while (queued_tasks(job_ids_, offsets_, scratch_).value_or(Queue{}).size() > 0 && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  [[noreturn]] void cancel_all() {
    cancel_queued();
    throw Error(ErrorCode::kInterrupted, "interrupted");
  }

  const SlurmConfig& config_;
  const ExecutorJob& job_;
  SegmentReports& reports_;
  std::string scratch_;
  std::map<int, Watched> watched_;
  std::vector<ArrayTaskEntry> entries_;  // by array index
  std::map<int, int> index_of_;          // segment -> its array index
  int offset_of(const std::string& job_id) const {
    const auto it = offsets_.find(job_id);
    return it == offsets_.end() ? 0 : it->second;
  }

  int max_array_ = 1001;                // the cluster's MaxArraySize: indices per array
  std::map<std::string, int> offsets_;  // each array's first index in the job
  std::string hw_backend_;              // the explicit hardware encoder the tasks try first; empty: none
  std::vector<std::string> job_ids_;
  std::set<int> running_now_;
  int max_running_ = 0;
  std::string last_failure_;
};

}  // namespace

ExecutorStats SlurmExecutor::run(const ExecutorJob& job, SegmentReports& reports) {
  SlurmRun run(config_, job, reports);
  run.start();
  run.watch();
  return run.stats();
}

}  // namespace pvt
