#include "array_task.hpp"

#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "atomic_file.hpp"
#include "child_process.hpp"
#include "error.hpp"

namespace pvt {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

long index_from(const char* name, const char* v) {
  char* end = nullptr;
  const long i = std::strtol(v, &end, 10);
  if (*end || i < 0 || i > 1'000'000)
    throw Error(ErrorCode::kUsage, std::string(name) + " is not an index: " + v);
  return i;
}

// This task's index: Slurm's array index (plus PVT_ARRAY_OFFSET, the first index of an array past the
// cluster's MaxArraySize), or a Kubernetes Indexed Job's completion index.
int task_index() {
  long offset = 0;
  if (const char* v = std::getenv("PVT_ARRAY_OFFSET"); v && *v) offset = index_from("PVT_ARRAY_OFFSET", v);
  for (const char* name : {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"})
    if (const char* v = std::getenv(name); v && *v) {
      return static_cast<int>(index_from(name, v) + offset);
    }
  throw Error(
      ErrorCode::kUsage,
      "pvt worker --array-task: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set (run by a "
      "cluster scheduler)");
}

// The Slurm node's name (several may share one host), else the host's.
std::string host_name() {
  if (const char* node = std::getenv("SLURMD_NODENAME"); node && *node) return node;
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

fs::path array_dir(const fs::path& job_dir) {
  return job_dir / "array";
}

fs::path array_task_file(const fs::path& job_dir, int index, const char* suffix) {
  return array_dir(job_dir) / ("task_" + std::to_string(index) + suffix);
}

void write_array_tasks(const fs::path& job_dir, const std::vector<ArrayTaskEntry>& tasks) {
  json list = json::array();
  for (const auto& t : tasks)
    list.push_back({{"segment", t.segment}, {"descriptor", t.descriptor}, {"attempt", t.attempt}});
  fs::create_directories(array_dir(job_dir));
  write_file_atomically((array_dir(job_dir) / "tasks.json").string(), list.dump(1) + "\n");
}

std::vector<ArrayTaskEntry> read_array_tasks(const fs::path& job_dir) {
  const fs::path path = array_dir(job_dir) / "tasks.json";
  const json list = json::parse(read_text(path), nullptr, false);
  if (!list.is_array()) throw Error(ErrorCode::kUsage, "cannot read the task list " + path.string());
  std::vector<ArrayTaskEntry> tasks;
  for (const auto& e : list) {
    if (!e.is_object() || !e.contains("segment") || !e.contains("descriptor") || !e.contains("attempt"))
      throw Error(ErrorCode::kUsage, "a damaged entry in the task list " + path.string());
    tasks.push_back({e["segment"].get<int>(), e["descriptor"].get<std::string>(), e["attempt"].get<int>()});
  }
  return tasks;
}

std::optional<ArrayTaskResult> read_array_result(const fs::path& job_dir, int index) {
  const fs::path path = array_task_file(job_dir, index, ".result.json");
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  const json j = json::parse(read_text(path), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  ArrayTaskResult r;
  r.segment = j.value("segment", -1);
  r.attempt = j.value("attempt", 0);
  r.exit_code = j.value("exit_code", -1);
  r.message = j.value("message", "");
  r.host = j.value("host", "");
  return r;
}

int read_array_progress(const fs::path& job_dir, int index) {
  const json j = json::parse(read_text(array_task_file(job_dir, index, ".progress")), nullptr, false);
  return j.is_object() && j.contains("frames") && j["frames"].is_number_integer() ? j["frames"].get<int>()
                                                                                  : -1;
}

int run_array_task(const std::string& job_dir_text) {
  const fs::path job_dir(job_dir_text);
  const int index = task_index();
  const auto tasks = read_array_tasks(job_dir);
  if (index >= static_cast<int>(tasks.size()))
    throw Error(ErrorCode::kUsage, "array task " + std::to_string(index) + " is not in the task list (" +
                                       std::to_string(tasks.size()) + " tasks)");
  const ArrayTaskEntry& task = tasks[static_cast<std::size_t>(index)];
  const fs::path log = array_task_file(job_dir, index, ".log");
  const fs::path progress = array_task_file(job_dir, index, ".progress");
  ChildProcess worker({current_executable(), "worker", task.descriptor},
                      {"PVT_WORKER_ATTEMPT=" + std::to_string(task.attempt)}, log.string());
  // The worker's progress lines, the latest one kept, at most four times a second: the coordinator
  // polls the file (on shared storage, so not a write per frame).
  auto last_write = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  std::string latest;
  for (bool eof = false; !eof;) {
    pollfd fd{worker.stdout_fd(), POLLIN, 0};
    poll(&fd, 1, 250);
    for (auto& line : worker.read_lines(eof)) latest = std::move(line);
    const auto now = std::chrono::steady_clock::now();
    if (!latest.empty() && (eof || now - last_write > std::chrono::milliseconds(250))) {
      write_file_atomically(progress.string(), latest + "\n");
      last_write = now;
      latest.clear();
    }
  }
  const int code = worker.wait();
  std::string message = code > 128 && code <= 128 + 64
                            ? "worker crashed (" + std::string(strsignal(code - 128)) + ")"
                            : (code != 0 ? last_error_line(log.string()) : "");
  if (code != 0 && message.empty()) message = "worker exited with status " + std::to_string(code);
  const json result{{"segment", task.segment},
                    {"attempt", task.attempt},
                    {"exit_code", code},
                    {"message", message},
                    {"host", host_name()}};
  write_file_atomically(array_task_file(job_dir, index, ".result.json").string(), result.dump() + "\n");
  return code > 128 ? 1 : code;
}

}  // namespace pvt
