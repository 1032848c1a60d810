// pvt: the command line. Thin: parses arguments, calls the engine, prints results on stdout and one
// line per error on stderr. Exit codes: 0 ok, 2 usage, 3 input, 4 output, 5 encode, 6 verify,
// 7 internal, 130/143 interrupted.
#include <csignal>
#include <cstdio>
#include <exception>
#include <map>

#include "commands.hpp"
#include "error.hpp"
#include "realtime_guard.hpp"

extern "C" {
#include <libavutil/log.h>
}

int main(int argc, char** argv) {
  // FFmpeg's own chatter would break the one-line-error rule; pvt reports what matters itself.
  av_log_set_level(AV_LOG_QUIET);
  // Past a file-size limit (ulimit -f) a write must fail with EFBIG, reported like a full disk, instead
  // of the default SIGXFSZ killing the process mid-file. Workers are this executable too.
  std::signal(SIGXFSZ, SIG_IGN);
  // No library may make pvt or its workers real-time (SVT-AV1 does, as root): see realtime_guard.hpp.
  pvt::refuse_realtime_scheduling();
  CLI::App app{
      "pvt - the parallel video transcoder: cuts video at scene changes and encodes the pieces at once"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pvt 0.1.0");
  std::map<CLI::App*, pvt::cli::Runner> runners;
  for (auto add : {pvt::cli::add_analyze_command, pvt::cli::add_transcode_command,
                   pvt::cli::add_worker_command, pvt::cli::add_caps_command, pvt::cli::add_plan_command}) {
    const auto before = app.get_subcommands({}).size();
    auto runner = add(app);
    runners[app.get_subcommands({}).at(before)] = runner;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "pvt: error: %s (see pvt --help)\n", e.what());
    return static_cast<int>(pvt::ErrorCode::kUsage);
  }
  try {
    for (auto* sub : app.get_subcommands())
      if (runners.count(sub)) return runners[sub]();
    return static_cast<int>(pvt::ErrorCode::kUsage);
  } catch (const pvt::Error& e) {
    std::fprintf(stderr, "pvt: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "pvt: error: out of memory\n");
    return static_cast<int>(pvt::ErrorCode::kInternal);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pvt: error: %s\n", e.what());
    return static_cast<int>(pvt::ErrorCode::kInternal);
  }
}
