// The pvt subcommands. Each registers its options on the CLI11 app and returns the exit code when run.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace pvt::cli {

using Runner = std::function<int()>;

Runner add_analyze_command(CLI::App& app);
Runner add_transcode_command(CLI::App& app);
Runner add_worker_command(CLI::App& app);
Runner add_caps_command(CLI::App& app);
Runner add_plan_command(CLI::App& app);

}  // namespace pvt::cli
