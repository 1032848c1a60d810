// `pvt worker DESCRIPTOR.json`: the process the job's pool starts for each segment.
#include <sys/prctl.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "segment_descriptor.hpp"
#include "segment_worker.hpp"

namespace pvt::cli {

Runner add_worker_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("worker", "Encode one segment from a JSON descriptor (started by transcode)");
  auto path = std::make_shared<std::string>();
  cmd->add_option("descriptor", *path, "segment descriptor (JSON)")->required();
  return [path] {
    // A worker never outlives the job that started it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const SegmentDescriptor d = read_descriptor(*path);
    const WorkerStats stats = run_segment_worker(d);
    write_json_file(d.stats, nlohmann::json(stats));
    return 0;
  };
}

}  // namespace pvt::cli
