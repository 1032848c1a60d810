// Runs a short command (sbatch, squeue, sinfo...) from an argument vector and collects what it printed:
// the cluster executor's way of talking to a scheduler through the commands its users already have.
#pragma once

#include <string>
#include <vector>

namespace pvt {

struct CommandOutput {
  int exit_code = -1;  // 127: not found; 128 + N: killed by signal N
  std::string out;
  std::string err;
  std::string first_error_line() const;  // err's first non-empty line, else out's
};

// argv[0] is looked up on PATH. `scratch` is a folder for the command's stderr while it runs.
CommandOutput run_command(const std::vector<std::string>& argv, const std::string& scratch);

// The full path of `name` on PATH, or empty.
std::string find_on_path(const std::string& name);

}  // namespace pvt
