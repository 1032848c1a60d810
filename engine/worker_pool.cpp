#include "worker_pool.hpp"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "error.hpp"

namespace pvt {

namespace {

struct Slot {
  std::string backend;
  bool hardware = false;
  bool busy = false;
  int failures = 0;  // consecutive failed sessions; two retire a hardware slot
};

struct Queued {
  PoolTask task;
  int attempts = 0;        // all attempts so far (hardware and CPU)
  int cpu_attempts = 0;    // the ones that count against max_attempts
  int input_failures = 0;  // CPU attempts whose worker exited with kInput (could not read or decode)
  std::string fallback_from, fallback_reason;
};

using Clock = std::chrono::steady_clock;

struct Running {
  Queued q;
  std::size_t slot = 0;
  std::unique_ptr<ChildProcess> child;
  Clock::time_point last_progress = Clock::now();
  int frames = -1;  // the latest progress report: frames into the encoder, packets out of it
  int packets = -1;
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

bool is_out_of_space(const std::string& message) {
  for (const char* text : {"No space left on device", "File too large", "Disk quota exceeded"})
    if (message.find(text) != std::string::npos) return true;
  return false;
}

std::vector<PoolResult> run_worker_pool(std::vector<PoolTask> tasks, const PoolSlots& spec,
                                        const PoolLimits& limits, const std::string& worker_executable,
                                        const PoolCallbacks& cb) {
  const int max_attempts = limits.max_attempts;
  std::stable_sort(tasks.begin(), tasks.end(),
                   [](const PoolTask& a, const PoolTask& b) { return a.cost > b.cost; });
  std::deque<Queued> queue;
  for (auto& t : tasks) queue.push_back({t, 0, 0, {}, {}});
  int max_segment = 0;
  for (const auto& t : tasks) max_segment = std::max(max_segment, t.segment);
  std::vector<PoolResult> results(static_cast<std::size_t>(max_segment) + 1);
  std::vector<Running> running;

  // Hardware sessions first: when a hardware and a CPU slot are both free, the longest segment goes to
  // the (usually faster) hardware. A CPU slot always exists, for the segments that fall back.
  std::vector<Slot> slots;
  for (const auto& h : spec.hardware)
    for (int i = 0; i < h.sessions; ++i) slots.push_back({h.backend, true});
  for (int i = 0; i < std::max(1, spec.cpu); ++i) slots.push_back({spec.cpu_backend, false});

  auto hardware_alive = [&] {
    return std::any_of(slots.begin(), slots.end(),
                       [](const Slot& s) { return s.hardware && s.failures < 2; });
  };
  // The queue index of the longest segment this slot may take, or -1.
  auto pick = [&](const Slot& slot) -> int {
    for (std::size_t i = 0; i < queue.size(); ++i) {
      const bool fell_back = !queue[i].fallback_from.empty();
      if (slot.hardware ? !fell_back : (!spec.cpu_fallback_only || fell_back || !hardware_alive()))
        return static_cast<int>(i);
    }
    return -1;
  };

  auto stop_all = [&] {
    for (auto& r : running) r.child->kill(SIGKILL);
    running.clear();  // destructors reap
  };

  // Memory: one more worker may start while the budget holds it at the largest peak measured so far
  // (running workers' high-water marks included), or at the estimate before any was measured.
  std::int64_t peak_seen = 0;
  auto memory_allows_another = [&] {
    if (running.empty() || limits.memory_budget <= 0) return true;
    for (const auto& r : running) peak_seen = std::max(peak_seen, r.child->peak_rss_bytes());
    const std::int64_t per_worker = std::max(peak_seen, limits.worker_memory);
    return static_cast<std::int64_t>(running.size() + 1) * per_worker <= limits.memory_budget;
  };

  while (!queue.empty() || !running.empty()) {
    if (stop_requested(cb.cancel)) {
      stop_all();
      throw Error(ErrorCode::kInterrupted, "interrupted");
    }
    for (std::size_t s = 0; s < slots.size() && !queue.empty(); ++s) {
      Slot& slot = slots[s];
      if (slot.busy || (slot.hardware && slot.failures >= 2)) continue;
      if (!memory_allows_another()) {
        if (cb.run_stats) ++cb.run_stats->held_back_for_memory;
        break;
      }
      const int at = pick(slot);
      if (at < 0) continue;
      Queued q = queue[static_cast<std::size_t>(at)];
      queue.erase(queue.begin() + at);
      if (cb.before_start) cb.before_start(q.task, slot.backend, q.fallback_from);
      ++q.attempts;
      if (!slot.hardware) ++q.cpu_attempts;
      Running r{q, s, nullptr};
      r.child = std::make_unique<ChildProcess>(
          std::vector<std::string>{worker_executable, "worker", q.task.descriptor_path},
          std::vector<std::string>{"PVT_WORKER_ATTEMPT=" + std::to_string(q.attempts)}, q.task.log_path);
      slot.busy = true;
      running.push_back(std::move(r));
      if (cb.run_stats)
        cb.run_stats->max_running = std::max(cb.run_stats->max_running, static_cast<int>(running.size()));
    }

    std::vector<pollfd> fds;
    for (auto& r : running) fds.push_back({r.child->stdout_fd(), POLLIN, 0});
    poll(fds.data(), fds.size(), 100);
    if (cb.on_tick) cb.on_tick();
    // Checked before reading exits: on Ctrl-C the workers get the signal too, and their deaths are
    // the interrupt, not failures to retry.
    if (stop_requested(cb.cancel)) {
      stop_all();
      throw Error(ErrorCode::kInterrupted, "interrupted");
    }

    for (std::size_t i = 0; i < running.size();) {
      auto& r = running[i];
      const PoolTask& task = r.q.task;
      bool eof = false;
      for (const auto& line : r.child->read_lines(eof)) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_object() || !j.contains("frames") || !j["frames"].is_number_integer()) continue;
        const int frames = j["frames"].get<int>();
        const int packets =
            j.contains("packets") && j["packets"].is_number_integer() ? j["packets"].get<int>() : 0;
        // Progress is a new frame or packet count; a worker repeating itself while stuck is not.
        if (frames != r.frames || packets != r.packets) r.last_progress = Clock::now();
        r.frames = frames;
        r.packets = packets;
        if (cb.on_progress) cb.on_progress(task.segment, frames);
      }
      std::string watchdog;
      if (!eof && limits.watchdog_s > 0 &&
          Clock::now() - r.last_progress > std::chrono::duration<double>(limits.watchdog_s)) {
        char msg[96];
        std::snprintf(msg, sizeof msg, "no progress for %.0f s (watchdog); worker killed", limits.watchdog_s);
        watchdog = msg;
        r.child->kill(SIGKILL);
        eof = true;
      }
      if (!eof) {
        ++i;
        continue;
      }
      const int code = r.child->wait();
      const std::int64_t peak = r.child->peak_rss_bytes();
      peak_seen = std::max(peak_seen, peak);
      if (cb.run_stats) cb.run_stats->peak_rss_bytes = std::max(cb.run_stats->peak_rss_bytes, peak);
      Slot& slot = slots[r.slot];
      slot.busy = false;
      std::string failure;
      PoolResult result;
      result.attempts = r.q.attempts;
      result.fallback_from = r.q.fallback_from;
      result.fallback_reason = r.q.fallback_reason;
      result.peak_rss_bytes = peak;
      if (!watchdog.empty()) {
        failure = watchdog;
      } else if (code > 128 && code <= 128 + 64) {
        // Killed by a signal (a crash): whatever it last wrote is not its error.
        failure = "worker crashed (" + std::string(strsignal(code - 128)) + ")";
      } else if (code != 0) {
        failure = last_line(task.log_path);
        if (failure.empty()) failure = "worker exited with status " + std::to_string(code);
      } else {
        try {
          result.stats = read_worker_stats(task.stats_path);
          if (result.stats.frames != task.expected_frames)
            failure = "encoded " + std::to_string(result.stats.frames) + " frames, expected " +
                      std::to_string(task.expected_frames);
          else if (cb.check_output)
            failure = cb.check_output(task);
        } catch (const Error& e) {
          failure = e.what();
        }
      }
      Queued again = r.q;
      if (!failure.empty() && !slot.hardware && code == static_cast<int>(ErrorCode::kInput))
        ++again.input_failures;
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));  // `task` referred into it
      const PoolTask& done = again.task;
      if (failure.empty()) {
        slot.failures = 0;
        results[done.segment] = result;
        if (cb.on_progress) cb.on_progress(done.segment, done.expected_frames);
        if (cb.on_done) cb.on_done(done, result);
      } else if (is_out_of_space(failure)) {
        stop_all();
        throw Error(ErrorCode::kOutput, "segment " + std::to_string(done.segment) + ": " + failure);
      } else if (slot.hardware) {
        // The session died with its process; the segment goes to the CPU, next, before fresh work.
        ++slot.failures;
        again.fallback_from = slot.backend;
        again.fallback_reason = failure;
        if (cb.on_progress) cb.on_progress(done.segment, 0);
        queue.push_front(again);
      } else if (again.cpu_attempts < max_attempts) {
        if (cb.on_progress) cb.on_progress(done.segment, 0);
        queue.push_front(again);  // retry next, before fresh work
      } else {
        const std::string msg = "segment " + std::to_string(done.segment) + " failed after " +
                                std::to_string(again.attempts) + " attempts: " + failure;
        stop_all();
        // Workers that exited with kInput on every CPU attempt could not read or decode their part of the
        // input: the job fails as an input error, and its message can say so.
        const bool input = again.input_failures == again.cpu_attempts;
        throw Error(input ? ErrorCode::kInput : ErrorCode::kEncode, msg);
      }
    }
  }
  return results;
}

}  // namespace pvt
