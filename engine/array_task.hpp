// The files a cluster executor and its array tasks share in the job folder (a Slurm job array; a
// Kubernetes Indexed Job runs the same tasks). The scheduler knows nothing of pvt: it starts task i as
// `pvt worker --array-task JOBDIR` with i in SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, and the task
// finds its work and leaves its outcome in files, which the coordinator polls. Task i encodes the segment
// entry i names (a Slurm array numbers them longest first; a Kubernetes Indexed Job by segment).
//
//   JOBDIR/array/tasks.json           [{"segment": S, "descriptor": PATH, "attempt": N}, ...] by index
//   JOBDIR/array/task_<i>.progress    the worker's latest progress line ({"frames":F,"packets":P})
//   JOBDIR/array/task_<i>.result.json {"segment", "attempt", "exit_code", "message", "host"} at its end
//   JOBDIR/array/task_<i>.log         the worker's stderr
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pvt {

struct ArrayTaskEntry {
  int segment = 0;
  std::string descriptor;
  int attempt = 1;
};

struct ArrayTaskResult {
  int segment = 0;
  int attempt = 0;
  int exit_code = 0;    // the worker's; 128 + N when signal N killed it
  std::string message;  // its last stderr line (its one-line error), or what killed it
  std::string host;
};

std::filesystem::path array_dir(const std::filesystem::path& job_dir);
std::filesystem::path array_task_file(const std::filesystem::path& job_dir, int index, const char* suffix);

// tasks.json, written atomically (a task starting meanwhile reads the old or the new list, never half).
void write_array_tasks(const std::filesystem::path& job_dir, const std::vector<ArrayTaskEntry>& tasks);
std::vector<ArrayTaskEntry> read_array_tasks(const std::filesystem::path& job_dir);

// The result task `index` left, if it has finished; a damaged file reads as none.
std::optional<ArrayTaskResult> read_array_result(const std::filesystem::path& job_dir, int index);
// The latest frame count task `index` reported; -1 when none yet.
int read_array_progress(const std::filesystem::path& job_dir, int index);

// `pvt worker --array-task JOBDIR`: runs this task's entry in a child `pvt worker DESCRIPTOR` (so a
// crash is still reported), relays its progress into the progress file and writes the result. Returns
// the worker's exit code (the scheduler sees the task fail as the worker did).
int run_array_task(const std::string& job_dir);

}  // namespace pvt
