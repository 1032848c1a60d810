// pvt-mcp's settings (mcp/server_config.*): arbitrary command-line arguments and environment, as hosts
// pass them (substituted ${user_config.x} text, unset options left literal). The input is split at NUL
// bytes; a piece "ENV:NAME=value" sets a variable (HOME, PVT_*), every other piece is an argument.
// parse_server_config must return a configuration inside the documented ranges with no unexpanded
// placeholder left, or throw ConfigError naming the option.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "server_config.hpp"

namespace mcp = pvt::mcp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = pvt::fuzz::as_text(data, size);
  // expand_home on its own: with a home free of '$', no ${HOME} is left after expansion.
  PVT_FUZZ_CHECK(mcp::expand_home(std::string(bytes), "/home/fuzz").find("${HOME}") == std::string::npos,
                 "${HOME} left after expansion");
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  for (std::size_t at = 0; at <= bytes.size();) {
    std::size_t end = bytes.find('\0', at);
    if (end == std::string_view::npos) end = bytes.size();
    const std::string piece(bytes.substr(at, end - at));
    if (piece.rfind("ENV:", 0) == 0 && piece.find('=') != std::string::npos) {
      const std::size_t eq = piece.find('=');
      env[piece.substr(4, eq - 4)] = piece.substr(eq + 1);
    } else if (end < bytes.size() || !piece.empty()) {
      args.push_back(piece);
    }
    at = end + 1;
  }
  // HOME always comes from the input (or is "/home/fuzz"): the password database is not fuzz input.
  if (!env.count("HOME")) env["HOME"] = "/home/fuzz";
  const mcp::GetEnv get_env = [&env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };

  mcp::ServerConfig c;
  try {
    c = mcp::parse_server_config(args, get_env);
  } catch (const mcp::ConfigError&) {
    return 0;
  }
  PVT_FUZZ_CHECK(!c.output_dir.empty(), "empty output directory");
  PVT_FUZZ_CHECK(c.output_dir.find("${") == std::string::npos, "an unexpanded placeholder was accepted");
  PVT_FUZZ_CHECK(c.max_workers >= 0 && c.max_workers <= 256, "max_workers out of range");
  PVT_FUZZ_CHECK(c.segment_duration >= 0.1 && c.segment_duration <= 3600, "segment_duration out of range");
  PVT_FUZZ_CHECK(c.lookahead >= 0 && c.lookahead <= 250, "lookahead out of range");
  // Every backend pvt has (whether this machine opens it is the transcode's check), and nothing else.
  static const std::set<std::string> kBackends = {"auto",  "x264", "x265",        "nvenc",
                                                  "vaapi", "qsv",  "videotoolbox"};
  PVT_FUZZ_CHECK(kBackends.count(c.encoder) == 1, "unknown encoder accepted");
  PVT_FUZZ_CHECK(c.max_concurrent_jobs >= 1 && c.max_concurrent_jobs <= 64,
                 "max_concurrent_jobs out of range");
  PVT_FUZZ_CHECK(c.log_level == mcp::LogLevel::kDebug || c.log_level == mcp::LogLevel::kInfo ||
                     c.log_level == mcp::LogLevel::kWarning || c.log_level == mcp::LogLevel::kError,
                 "log level out of range");
  return 0;
}
