// pvt-mcp's settings: command-line options, then PVT_* environment variables, then defaults. Hosts
// substitute ${user_config.x} into the manifest's arguments but leave an unset option as that literal
// text and do not expand ${HOME}; so the server expands ~, ${HOME} and $HOME itself and refuses any value
// still holding "${", naming the option, rather than run with a nonsense setting.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "logging.hpp"

namespace pvt::mcp {

struct ServerConfig {
  std::string output_dir;  // after parse: expanded; after prepare_output_dir: the realpath
  int max_workers = 0;     // 0: the engine decides (cores, memory)
  double segment_duration = 10;
  int lookahead = 40;
  std::string encoder = "auto";
  int max_concurrent_jobs = 1;
  // Where the jobs' workers run: "local", or "slurm" (one job array per job; the output folder, the inputs
  // and pvt must be at the same paths on every node) with the sbatch options below.
  std::string executor = "local";
  std::string slurm_partition, slurm_account, slurm_time;
  std::vector<std::string> slurm_extra;  // split at spaces
  LogLevel log_level = LogLevel::kInfo;
};

// A bad setting: the server prints "pvt-mcp: error: <what>" and exits 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using GetEnv = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (unset and empty both read as absent).
GetEnv process_env();

// Expands a leading "~" or "~/" and every ${HOME} / $HOME (not followed by a name character).
std::string expand_home(const std::string& value, const std::string& home);

// args: the arguments after the program name. Throws ConfigError naming the option.
ServerConfig parse_server_config(const std::vector<std::string>& args, const GetEnv& env);

// Creates the output directory when missing and replaces it by its realpath. Throws ConfigError.
void prepare_output_dir(ServerConfig& config);

// The text of `pvt-mcp --help`.
std::string usage_text();

}  // namespace pvt::mcp
