#include "server_config.hpp"

#include <pwd.h>
#include <unistd.h>
#include <algorithm>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <map>
#include <sstream>

namespace pvt::mcp {

namespace fs = std::filesystem;

namespace {

struct OptionSpec {
  const char* name;  // without the leading --
  const char* env;   // fallback variable, or nullptr
};

constexpr OptionSpec kOptions[] = {
    {"output-dir", "PVT_OUTPUT_DIR"},
    {"max-workers", "PVT_MAX_WORKERS"},
    {"segment-duration", "PVT_SEGMENT_DURATION"},
    {"lookahead", "PVT_LOOKAHEAD"},
    {"encoder", "PVT_ENCODER"},
    {"max-concurrent-jobs", "PVT_MAX_CONCURRENT_JOBS"},
    {"executor", "PVT_EXECUTOR"},
    {"slurm-partition", "PVT_SLURM_PARTITION"},
    {"slurm-account", "PVT_SLURM_ACCOUNT"},
    {"slurm-time", "PVT_SLURM_TIME"},
    {"slurm-extra", "PVT_SLURM_EXTRA"},
    {"log-level", nullptr},
};

std::string home_dir(const GetEnv& env) {
  if (auto h = env("HOME")) return *h;
  // A host may start the server with a scrubbed environment; the password database still knows.
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "/";
}

int parse_int(const std::string& option, const std::string& value, int lo, int hi) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(value, &used);
  } catch (...) {
    used = 0;
  }
  // Hosts substitute a number setting as text, possibly as "4.0": a whole value is accepted in any spelling.
  if (used == 0 || used != value.size() || v != std::floor(v) || v < lo || v > hi)
    throw ConfigError(option + " takes a whole number from " + std::to_string(lo) + " to " +
                      std::to_string(hi) + ", not '" + value + "'");
  return static_cast<int>(v);
}

double parse_seconds(const std::string& option, const std::string& value) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(value, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != value.size() || !(v >= 0.1 && v <= 3600))
    throw ConfigError(option + " takes a number of seconds from 0.1 to 3600, not '" + value + "'");
  return v;
}

}  // namespace

GetEnv process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
}

std::string expand_home(const std::string& value, const std::string& home) {
  std::string s = value;
  if (s == "~" || s.rfind("~/", 0) == 0) s = home + s.substr(1);
  for (const std::string token : {"${HOME}", "$HOME"}) {
    for (std::size_t at = s.find(token); at != std::string::npos; at = s.find(token, at)) {
      const std::size_t end = at + token.size();
      // "$HOMEDIR" is another variable, not $HOME followed by "DIR".
      if (token == "$HOME" && end < s.size() &&
          (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '_')) {
        at = end;
        continue;
      }
      s.replace(at, token.size(), home);
      at += home.size();
    }
  }
  return s;
}

ServerConfig parse_server_config(const std::vector<std::string>& args, const GetEnv& env) {
  // Raw values by option name, from the command line first (the last occurrence wins).
  std::map<std::string, std::string> given;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      if (arg.find("${") != std::string::npos)
        throw ConfigError("an argument was given the unexpanded placeholder '" + arg +
                          "'; set it in the extension's settings");
      throw ConfigError("unexpected argument '" + arg + "' (see pvt-mcp --help)");
    }
    std::string name = arg.substr(2), value;
    const auto eq = name.find('=');
    bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const bool known = std::any_of(std::begin(kOptions), std::end(kOptions),
                                   [&](const OptionSpec& o) { return name == o.name; });
    if (!known) throw ConfigError("unknown option --" + name + " (see pvt-mcp --help)");
    if (!inline_value) {
      if (i + 1 >= args.size()) throw ConfigError("--" + name + " needs a value");
      value = args[++i];
    }
    given[name] = value;
  }

  const std::string home = home_dir(env);
  // The final text of each option: expanded, checked for placeholders; empty means "use the default"
  // (what a host passes for an optional setting the user left blank).
  auto setting = [&](const OptionSpec& o) -> std::optional<std::pair<std::string, std::string>> {
    std::string label = std::string("--") + o.name, raw;
    if (auto it = given.find(o.name); it != given.end()) {
      raw = it->second;
    } else if (o.env) {
      if (auto v = env(o.env)) {
        raw = *v;
        label = o.env;
      }
    }
    const std::string value = expand_home(raw, home);
    if (value.find("${") != std::string::npos)
      throw ConfigError(label + " was given the unexpanded placeholder '" + value +
                        "'; set it in the extension's settings");
    if (value.empty()) return std::nullopt;
    return std::make_pair(label, value);
  };

  ServerConfig c;
  c.output_dir = home + "/pvt-output";
  for (const auto& o : kOptions) {
    const auto s = setting(o);
    if (!s) continue;
    const auto& [label, value] = *s;
    const std::string name = o.name;
    if (name == "output-dir") {
      c.output_dir = value;
    } else if (name == "max-workers") {
      c.max_workers = parse_int(label, value, 0, 256);
    } else if (name == "segment-duration") {
      c.segment_duration = parse_seconds(label, value);
    } else if (name == "lookahead") {
      c.lookahead = parse_int(label, value, 0, 250);
    } else if (name == "encoder") {
      // Every backend pvt has; whether this machine can open it is the transcode's check (a tool error
      // naming why), so one bundle setting works on every machine.
      static const std::vector<std::string> kBackends = {"auto",  "x264", "x265",        "nvenc",
                                                         "vaapi", "qsv",  "videotoolbox"};
      if (std::find(kBackends.begin(), kBackends.end(), value) == kBackends.end())
        throw ConfigError(label + " takes auto, x264, x265, nvenc, vaapi, qsv or videotoolbox, not '" +
                          value + "'");
      c.encoder = value;
    } else if (name == "max-concurrent-jobs") {
      c.max_concurrent_jobs = parse_int(label, value, 1, 64);
    } else if (name == "executor") {
      if (value != "local" && value != "slurm")
        throw ConfigError(label + " takes local or slurm, not '" + value + "'");
      c.executor = value;
    } else if (name == "slurm-partition") {
      c.slurm_partition = value;
    } else if (name == "slurm-account") {
      c.slurm_account = value;
    } else if (name == "slurm-time") {
      c.slurm_time = value;
    } else if (name == "slurm-extra") {
      std::istringstream words(value);
      for (std::string w; words >> w;) c.slurm_extra.push_back(w);
    } else if (name == "log-level") {
      const auto level = parse_log_level(value);
      if (!level || (*level != LogLevel::kDebug && *level != LogLevel::kInfo &&
                     *level != LogLevel::kWarning && *level != LogLevel::kError))
        throw ConfigError(label + " takes debug, info, warning or error, not '" + value + "'");
      c.log_level = *level;
    }
  }
  // A given --output-dir was checked above; the default is built from HOME, which a host may pass
  // unexpanded too: "${HOME}/pvt-output" would be a relative path, a literal "${HOME}" folder in the
  // working directory.
  if (c.output_dir.find("${") != std::string::npos)
    throw ConfigError("HOME holds the unexpanded placeholder '" + home +
                      "' and no --output-dir was given; set the output folder in the extension's settings");
  return c;
}

void prepare_output_dir(ServerConfig& config) {
  std::error_code ec;
  fs::path dir = fs::absolute(config.output_dir, ec);
  if (ec) throw ConfigError("--output-dir " + config.output_dir + ": " + ec.message());
  fs::create_directories(dir, ec);
  if (ec) throw ConfigError("--output-dir " + dir.string() + ": cannot create it: " + ec.message());
  if (!fs::is_directory(dir, ec)) throw ConfigError("--output-dir " + dir.string() + ": is not a directory");
  // The realpath is the sandbox root: every output is checked against it after resolving symlinks.
  const fs::path real = fs::canonical(dir, ec);
  if (ec) throw ConfigError("--output-dir " + dir.string() + ": " + ec.message());
  if (access(real.c_str(), W_OK | X_OK) != 0)
    throw ConfigError("--output-dir " + real.string() + ": is not writable");
  config.output_dir = real.string();
}

std::string usage_text() {
  return "usage: pvt-mcp --output-dir DIR [--max-workers N] [--segment-duration S] [--lookahead N]\n"
         "               [--encoder auto|x264|x265|nvenc|vaapi|qsv|videotoolbox] [--max-concurrent-jobs N] "
         "[--log-level "
         "debug|info|warning|error]\n"
         "               [--executor local|slurm] [--slurm-partition P] [--slurm-account A] [--slurm-time "
         "T]\n"
         "               [--slurm-extra \"SBATCH ARGS\"]\n"
         "       pvt-mcp worker DESCRIPTOR.json|--serve|--array-task JOBDIR\n"
         "An MCP server on stdio (newline-delimited JSON-RPC): tools to analyze videos and transcode them "
         "in\n"
         "parallel to HLS or MP4 under the output directory. Environment fallbacks: PVT_OUTPUT_DIR,\n"
         "PVT_MAX_WORKERS, PVT_SEGMENT_DURATION, PVT_LOOKAHEAD, PVT_ENCODER, PVT_MAX_CONCURRENT_JOBS,\n"
         "PVT_EXECUTOR, PVT_SLURM_PARTITION, PVT_SLURM_ACCOUNT, PVT_SLURM_TIME, PVT_SLURM_EXTRA.\n"
         "Defaults: --output-dir ~/pvt-output, --max-workers 0 (auto), --segment-duration 10, --lookahead "
         "40,\n"
         "--encoder auto, --max-concurrent-jobs 1, --log-level info, --executor local.\n";
}

}  // namespace pvt::mcp
