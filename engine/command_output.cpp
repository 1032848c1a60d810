#include "command_output.hpp"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "child_process.hpp"

namespace pvt {

namespace fs = std::filesystem;

std::string CommandOutput::first_error_line() const {
  for (const std::string* text : {&err, &out}) {
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);)
      if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
  }
  return {};
}

std::string find_on_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

CommandOutput run_command(const std::vector<std::string>& argv, const std::string& scratch) {
  CommandOutput r;
  std::vector<std::string> args = argv;
  args[0] = find_on_path(argv[0]);
  if (args[0].empty()) {
    r.exit_code = 127;
    r.err = argv[0] + ": not found on PATH";
    return r;
  }
  fs::create_directories(scratch);
  // Unique per call: the MCP server runs jobs on several threads, and two may share a scratch folder.
  static std::atomic<unsigned> calls{0};
  const fs::path err_path =
      fs::path(scratch) / (".cmd-" + std::to_string(getpid()) + "-" + std::to_string(calls++) + ".err");
  {
    ChildProcess child(args, {}, err_path.string());
    for (bool eof = false; !eof;) {
      pollfd fd{child.stdout_fd(), POLLIN, 0};
      poll(&fd, 1, 200);
      for (const auto& line : child.read_lines(eof)) r.out += line + "\n";
    }
    r.exit_code = child.wait();
  }
  std::ifstream in(err_path);
  std::ostringstream s;
  s << in.rdbuf();
  r.err = s.str();
  std::error_code ec;
  fs::remove(err_path, ec);
  return r;
}

}  // namespace pvt
