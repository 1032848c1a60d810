// pvt-mcp: the MCP server on stdio, and (`pvt-mcp worker DESCRIPTOR.json`) the segment worker the engine
// starts from the current executable, so a bundle needs this one binary.
//
// Exit codes: 0 when the client closed stdin (after answering the calls already received), 2 for a bad
// setting (one stderr line naming the option), 128+signal on SIGINT/SIGTERM; the worker exits like `pvt
// worker`.
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "array_task.hpp"
#include "cancellation.hpp"
#include "error.hpp"
#include "job_registry.hpp"
#include "job_resources.hpp"
#include "job_tasks.hpp"
#include "mcp_session.hpp"
#include "output_sandbox.hpp"
#include "realtime_guard.hpp"
#include "segment_descriptor.hpp"
#include "segment_worker.hpp"
#include "server_config.hpp"
#include "stdio_transport.hpp"
#include "tools.hpp"

extern "C" {
#include <libavutil/log.h>
}

namespace {

std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
  g_stop = true;
  // Every job stops and kills its workers; not through their own cancel flags, so the engine keeps each
  // job's state and finished segments for the next server to resume.
  pvt::g_stop_requested = true;
}

// Exactly what `pvt worker` does (cli/worker_command.cpp), with the same exit codes: one descriptor,
// --serve (the pool's long-lived worker), or --array-task JOBDIR (a Slurm array's task).
int run_worker(const std::vector<std::string>& args) {
  try {
    if (args[0] == "--array-task") {
      // A cluster scheduler's task, not the server's child: no death signal tied to a parent.
      if (args.size() != 2)
        throw pvt::Error(pvt::ErrorCode::kUsage, "usage: pvt-mcp worker --array-task JOBDIR");
      return pvt::run_array_task(args[1]);
    }
    // A worker never outlives the server that started it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (args.size() != 1)
      throw pvt::Error(pvt::ErrorCode::kUsage, "usage: pvt-mcp worker DESCRIPTOR.json|--serve");
    if (args[0] == "--serve")
      pvt::serve_segments();
    else
      pvt::run_descriptor(args[0]);
    return 0;
  } catch (const pvt::Error& e) {
    std::fprintf(stderr, "pvt-mcp: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pvt-mcp: error: %s\n", e.what());
    return static_cast<int>(pvt::ErrorCode::kInternal);
  }
}

// Moves the protocol streams to private descriptors and points fds 0 and 1 elsewhere: a stray printf in
// any library then lands on stderr instead of corrupting the JSON-RPC stream, and child processes never
// inherit the client's pipes (the private copies are close-on-exec).
bool claim_protocol_streams(int& in_fd, int& out_fd) {
  in_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (in_fd < 0 || out_fd < 0) return false;
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    close(null_fd);
  }
  dup2(STDERR_FILENO, STDOUT_FILENO);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // FFmpeg logs to stderr by default: quiet keeps stderr to pvt's own lines, as in `pvt`.
  av_log_set_level(AV_LOG_QUIET);
  // EFBIG instead of death by SIGXFSZ past a file-size limit (see cli/main.cpp).
  std::signal(SIGXFSZ, SIG_IGN);
  // No library may make pvt or its workers real-time (SVT-AV1 does, as root): see realtime_guard.hpp.
  pvt::refuse_realtime_scheduling();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "worker") {
    if (args.size() < 2) {
      std::fprintf(stderr,
                   "pvt-mcp: error: usage: pvt-mcp worker DESCRIPTOR.json|--serve|--array-task JOBDIR\n");
      return 2;
    }
    return run_worker({args.begin() + 1, args.end()});
  }
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(pvt::mcp::usage_text().c_str(), stdout);
    return 0;
  }
  if (!args.empty() && args[0] == "--version") {
    std::puts("pvt-mcp 0.1.0");
    return 0;
  }

  pvt::mcp::ServerConfig config;
  try {
    config = pvt::mcp::parse_server_config(args, pvt::mcp::process_env());
    pvt::mcp::prepare_output_dir(config);
  } catch (const pvt::mcp::ConfigError& e) {
    std::fprintf(stderr, "pvt-mcp: error: %s\n", e.what());
    return 2;
  }

  int in_fd = -1, out_fd = -1;
  if (!claim_protocol_streams(in_fd, out_fd)) {
    std::fprintf(stderr, "pvt-mcp: error: cannot duplicate stdin/stdout\n");
    return 7;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a client that went away shows up as end of input, not a crash
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;  // a second signal ends the process at once
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  pvt::mcp::Logger logger(config.log_level);
  pvt::mcp::JobRegistry jobs(
      config.max_concurrent_jobs,
      [](const pvt::TranscodeOptions& o, const pvt::ProgressFn& p, const pvt::WarnFn& w,
         pvt::SavedJob* saved) { return pvt::transcode(o, p, w, saved); },
      &logger, [] { pvt::g_stop_requested = true; });
  const pvt::mcp::OutputSandbox sandbox(config.output_dir);
  pvt::mcp::ToolEnv env{config, sandbox, jobs, logger};
  pvt::mcp::JobTasks job_tasks(env);
  pvt::mcp::JobResources job_resources(env);
  {
    pvt::mcp::McpSession session({"pvt", "0.1.0", pvt::mcp::server_instructions(config)},
                                 pvt::mcp::make_pvt_tools(env), pvt::mcp::fd_line_sink(out_fd),
                                 config.log_level, &job_tasks, &job_resources);
    logger.set_forward(
        [&session](pvt::mcp::LogLevel level, const std::string& text) { session.log(level, text); });
    logger.info("serving on stdio; output directory " + config.output_dir);

    // At end of input the calls already received are still answered (stdout may still be read, and
    // `printf ... | pvt-mcp` scripts work); a signal cuts that short. Jobs nobody waits for are then
    // interrupted, as on a signal: the final output never appears half-written, and each job's state
    // stays in its hidden job folder, so the next server lists it as interrupted and can resume it.
    if (pvt::mcp::run_stdio_loop(in_fd, session, g_stop))
      while (!g_stop && !session.wait_idle_for(std::chrono::milliseconds(200))) {
      }

    // In this order: the jobs first, interrupted so they keep their state (a wait:true call still in
    // flight then sees its job end, instead of cancelling it, which would discard the state; their
    // threads still log through the session), then the calls in flight, then the session goes.
    jobs.shutdown();
    session.shutdown();
    logger.set_forward(nullptr);
  }
  logger.info(g_signal ? "stopped by signal" : "client closed the connection; exiting");
  return g_signal ? 128 + g_signal : 0;
}
