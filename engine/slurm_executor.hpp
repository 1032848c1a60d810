// The executor that runs the segments as one Slurm job array: task i is `pvt worker --array-task JOBDIR`
// on the i-th segment by estimated cost, longest first, since Slurm starts the lowest indices first
// (array_task.hpp). The cluster's own scheduler places, starts and kills the workers; pvt only submits,
// watches the files the tasks leave and resubmits the indices that failed.
//
// The job folder must be on storage every node sees, at the same path, and so must the input and the
// pvt executable. What can be checked is checked before anything is submitted (slurm_preflight).
// The array's job ids are kept in JOBDIR/array/slurm.json: a coordinator killed outright leaves the
// array running, and the same command run again adopts what finished and waits for what still runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "executor.hpp"
#include "transcode_job.hpp"

namespace pvt {

struct SlurmConfig {
  SlurmOptions options;
  int concurrency = 0;         // the array's %M; 0: as many as the cluster gives
  int cpus_per_task = 1;       // the workers' threads, as locally
  std::int64_t mem_bytes = 0;  // per task, from the local pool's model; 0: the partition's default
  std::string job_name = "pvt";
};

// Each problem one line, Error(kUsage), before anything is written or submitted: Slurm's commands not on
// PATH, a controller that does not answer, a partition it does not have, a job folder on tmpfs/ramfs
// (node-local memory) when the cluster has more than one node.
void slurm_preflight(const SlurmOptions& options, const std::filesystem::path& job_dir);

class SlurmExecutor final : public SegmentExecutor {
 public:
  explicit SlurmExecutor(SlurmConfig config) : config_(std::move(config)) {}
  ExecutorStats run(const ExecutorJob& job, SegmentReports& reports) override;

 private:
  SlurmConfig config_;
};

}  // namespace pvt
