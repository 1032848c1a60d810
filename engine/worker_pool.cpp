#include "worker_pool.hpp"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "error.hpp"

namespace pvt {

namespace {

struct Running {
  PoolTask task;
  int attempt = 0;
  std::unique_ptr<ChildProcess> child;
};

// The last non-empty line a worker wrote to stderr: its one-line error.
std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  const std::string prefix = "pvt: error: ";
  if (last.rfind(prefix, 0) == 0) last = last.substr(prefix.size());
  return last;
}

}  // namespace

std::vector<PoolResult> run_worker_pool(std::vector<PoolTask> tasks, int workers, int max_attempts,
                                        const std::string& worker_executable, const PoolCallbacks& cb) {
  std::stable_sort(tasks.begin(), tasks.end(),
                   [](const PoolTask& a, const PoolTask& b) { return a.cost > b.cost; });
  std::deque<std::pair<PoolTask, int>> queue;  // task, attempts so far
  for (auto& t : tasks) queue.emplace_back(t, 0);
  int max_segment = 0;
  for (const auto& t : tasks) max_segment = std::max(max_segment, t.segment);
  std::vector<PoolResult> results(static_cast<std::size_t>(max_segment) + 1);
  std::vector<Running> running;
  workers = std::max(1, workers);

  auto stop_all = [&] {
    for (auto& r : running) r.child->kill(SIGKILL);
    running.clear();  // destructors reap
  };

  while (!queue.empty() || !running.empty()) {
    if (stop_requested(cb.cancel)) {
      stop_all();
      throw Error(ErrorCode::kInterrupted, "interrupted");
    }
    while (static_cast<int>(running.size()) < workers && !queue.empty()) {
      auto [task, attempts] = queue.front();
      queue.pop_front();
      if (cb.before_start) cb.before_start(task);
      Running r{task, attempts + 1, nullptr};
      r.child = std::make_unique<ChildProcess>(
          std::vector<std::string>{worker_executable, "worker", task.descriptor_path},
          std::vector<std::string>{"PVT_WORKER_ATTEMPT=" + std::to_string(r.attempt)}, task.log_path);
      running.push_back(std::move(r));
    }

    std::vector<pollfd> fds;
    for (auto& r : running) fds.push_back({r.child->stdout_fd(), POLLIN, 0});
    poll(fds.data(), fds.size(), 100);
    if (cb.on_tick) cb.on_tick();

    for (std::size_t i = 0; i < running.size();) {
      auto& r = running[i];
      bool eof = false;
      for (const auto& line : r.child->read_lines(eof)) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.contains("frames") && j["frames"].is_number_integer() && cb.on_progress)
          cb.on_progress(r.task.segment, j["frames"].get<int>());
      }
      if (!eof) {
        ++i;
        continue;
      }
      const int code = r.child->wait();
      std::string failure;
      PoolResult result;
      result.attempts = r.attempt;
      if (code != 0) {
        failure = last_line(r.task.log_path);
        if (failure.empty()) failure = "worker exited with status " + std::to_string(code);
      } else {
        try {
          result.stats = read_worker_stats(r.task.stats_path);
          if (result.stats.frames != r.task.expected_frames)
            failure = "encoded " + std::to_string(result.stats.frames) + " frames, expected " +
                      std::to_string(r.task.expected_frames);
        } catch (const Error& e) {
          failure = e.what();
        }
      }
      if (failure.empty()) {
        results[r.task.segment] = result;
        if (cb.on_progress) cb.on_progress(r.task.segment, r.task.expected_frames);
        if (cb.on_done) cb.on_done(r.task, result);
      } else if (r.attempt < max_attempts) {
        if (cb.on_progress) cb.on_progress(r.task.segment, 0);
        queue.emplace_front(r.task, r.attempt);  // retry next, before fresh work
      } else {
        const std::string msg = "segment " + std::to_string(r.task.segment) + " failed after " +
                                std::to_string(r.attempt) + " attempts: " + failure;
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        stop_all();
        throw Error(ErrorCode::kEncode, msg);
      }
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  return results;
}

}  // namespace pvt
