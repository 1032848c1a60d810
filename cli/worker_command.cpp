// `pvt worker DESCRIPTOR.json`: one segment. `pvt worker --serve`: the process the job's pool keeps per
// slot, which encodes segment after segment so the start-up (process, libraries, input open, demuxer
// index, decoder) is paid once per worker, not once per segment.
#include <sys/prctl.h>

#include <csignal>

#include "array_task.hpp"
#include "commands.hpp"
#include "error.hpp"
#include "segment_descriptor.hpp"
#include "segment_worker.hpp"

namespace pvt::cli {

Runner add_worker_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("worker", "Encode segments from JSON descriptors (started by transcode)");
  auto path = std::make_shared<std::string>();
  auto serve_mode = std::make_shared<bool>(false);
  auto array_job = std::make_shared<std::string>();
  cmd->add_option("descriptor", *path, "segment descriptor (JSON)");
  cmd->add_flag("--serve", *serve_mode, "read 'ATTEMPT DESCRIPTOR' lines from stdin, one segment each");
  cmd->add_option("--array-task", *array_job,
                  "JOBDIR: one task of a cluster job array (Slurm, Kubernetes Indexed Job): the segment "
                  "numbered by SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX");
  return [path, serve_mode, array_job] {
    // An array task belongs to the cluster's scheduler, not to a parent pvt.
    if (!array_job->empty()) return run_array_task(*array_job);
    // A worker never outlives the job that started it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (*serve_mode) {
      serve_segments();
      return 0;
    }
    if (path->empty()) throw Error(ErrorCode::kUsage, "pvt worker: give a descriptor, or --serve");
    run_descriptor(*path);
    return 0;
  };
}

}  // namespace pvt::cli
