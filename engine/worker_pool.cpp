#include "worker_pool.hpp"

#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "dispatch_order.hpp"
#include "error.hpp"

namespace pvt {

namespace {

struct Slot {
  std::string backend;
  bool hardware = false;
  bool busy = false;
  int failures = 0;  // consecutive failed sessions; two retire a hardware slot
  // The slot's long-lived `pvt worker --serve`, started with its first segment and kept for the next
  // ones; gone after a failure (the next segment gets a fresh process).
  std::unique_ptr<ChildProcess> worker;
  bool alive() const { return worker && worker->running(); }  // reaps a worker that exited
};

struct Queued {
  SegmentTask task;
  int attempts = 0;        // all attempts so far (hardware and CPU)
  int cpu_attempts = 0;    // the ones that count against max_attempts
  int input_failures = 0;  // CPU attempts whose worker exited with kInput (could not read or decode)
  bool excused = false;    // one attempt already not counted: its worker died before saying a word
  std::string fallback_from, fallback_reason;
};

using Clock = std::chrono::steady_clock;

struct Running {
  Queued q;
  std::size_t slot = 0;
  ChildProcess* child = nullptr;  // the slot's worker
  Clock::time_point started = Clock::now();
  Clock::time_point last_progress = Clock::now();
  int frames = -1;  // the latest progress report: frames into the encoder, packets out of it
  int packets = -1;
  bool reused = false;  // handed to a worker that had served segments before
  bool heard = false;   // the worker wrote a line about this segment
};

// An attempt that has ended, waiting to be settled.
struct Ended {
  Queued q;
  std::size_t slot = 0;
  SegmentResult result;
  int code = 0;                // the worker's exit status; 0 while it stays for the next segment
  std::string failure;         // empty: a success (unless the output check still to come says otherwise)
  bool died_silent = false;    // a kept worker SIGKILLed before it said a word about this segment
  bool check_pending = false;  // wrote its segment with the right frames: the job's output check is next
};

// Why an attempt with this exit status failed; empty for a clean exit.
std::string exit_failure(int code, const std::string& watchdog, const std::string& log_path) {
  if (!watchdog.empty()) return watchdog;
  // Killed by a signal (a crash): whatever it last wrote is not its error.
  if (code > 128 && code <= 128 + 64) return "worker crashed (" + std::string(strsignal(code - 128)) + ")";
  if (code == 0) return {};
  std::string failure = last_error_line(log_path);
  return failure.empty() ? "worker exited with status " + std::to_string(code) : failure;
}

// Retries and fallbacks stay in front, in their order; the fresh segments behind them go longest first
// by the estimate refitted to the CPU segments timed so far (dispatch_order.hpp).
void reorder_fresh(std::deque<Queued>& queue, const std::vector<TimedCost>& timed) {
  const CostWeights w = fit_cost_weights(timed);
  if (!w.valid()) return;
  const auto fresh =
      std::stable_partition(queue.begin(), queue.end(), [](const Queued& q) { return q.attempts > 0; });
  std::stable_sort(fresh, queue.end(), [&](const Queued& a, const Queued& b) {
    return predicted_cost(w, a.task.cost, a.task.content_cost) >
           predicted_cost(w, b.task.cost, b.task.content_cost);
  });
}

// Reads what a running worker wrote since the last call: its progress (a new frame or packet count; a worker
// repeating itself while stuck is not progress) and whether it said {"done":...}, its segment written.
bool read_worker_lines(Running& r, bool& eof, const PoolCallbacks& cb) {
  bool finished = false;
  for (const auto& line : r.child->read_lines(eof)) {
    r.heard = true;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("done")) finished = true;
    if (!j.is_object() || !j.contains("frames") || !j["frames"].is_number_integer()) continue;
    const int frames = j["frames"].get<int>();
    const int packets =
        j.contains("packets") && j["packets"].is_number_integer() ? j["packets"].get<int>() : 0;
    if (frames != r.frames || packets != r.packets) r.last_progress = Clock::now();
    r.frames = frames;
    r.packets = packets;
    if (cb.on_progress) cb.on_progress(r.q.task.segment, frames);
  }
  return finished;
}

std::string worker_log_path(const std::string& dir, std::size_t slot) {
  return (std::filesystem::path(dir) / ("worker_" + std::to_string(slot) + ".log")).string();
}

std::unique_ptr<ChildProcess> start_worker(const std::string& worker_executable, const std::string& log) {
  return std::make_unique<ChildProcess>(std::vector<std::string>{worker_executable, "worker", "--serve"},
                                        std::vector<std::string>{}, log, true);
}

}  // namespace

std::vector<std::unique_ptr<ChildProcess>> start_warm_workers(int count, const std::string& worker_executable,
                                                              const std::string& log_dir) {
  std::vector<std::unique_ptr<ChildProcess>> warm;
  for (int i = 0; i < count; ++i)
    warm.push_back(start_worker(worker_executable, worker_log_path(log_dir, static_cast<std::size_t>(i))));
  return warm;
}

bool is_out_of_space(const std::string& message) {
  for (const char* text : {"No space left on device", "File too large", "Disk quota exceeded"})
    if (message.find(text) != std::string::npos) return true;
  return false;
}

std::vector<SegmentResult> run_worker_pool(std::vector<SegmentTask> tasks, const EncoderSlots& spec,
                                           const PoolLimits& limits, const std::string& worker_executable,
                                           const PoolCallbacks& cb,
                                           std::vector<std::unique_ptr<ChildProcess>> warm) {
  const int max_attempts = limits.max_attempts;
  std::stable_sort(tasks.begin(), tasks.end(),
                   [](const SegmentTask& a, const SegmentTask& b) { return a.cost > b.cost; });
  std::deque<Queued> queue;
  for (auto& t : tasks) queue.push_back({t, 0, 0, {}, {}});
  int max_segment = 0;
  for (const auto& t : tasks) max_segment = std::max(max_segment, t.segment);
  std::vector<SegmentResult> results(static_cast<std::size_t>(max_segment) + 1);
  std::vector<Running> running;
  std::vector<TimedCost> timed;  // CPU segments finished at their first attempt

  // Hardware sessions first: when a hardware and a CPU slot are both free, the longest segment goes to
  // the (usually faster) hardware. A CPU slot always exists, for the segments that fall back.
  std::vector<Slot> slots;
  for (const auto& h : spec.hardware)
    for (int i = 0; i < h.sessions; ++i) slots.push_back({h.backend, true});
  for (int i = 0; i < std::max(1, spec.cpu); ++i) slots.push_back({spec.cpu_backend, false});
  // Workers started ahead go to the CPU slots, first to last; the rest read the end of their input.
  for (auto& w : warm) {
    const auto free =
        std::find_if(slots.begin(), slots.end(), [](const Slot& s) { return !s.hardware && !s.worker; });
    if (free != slots.end() && w->running()) {
      free->worker = std::move(w);
    } else {
      w->close_stdin();
      w->wait();
    }
  }
  const auto pool_start = Clock::now();
  auto seconds_since_start = [&](Clock::time_point t) {
    return std::chrono::duration<double>(t - pool_start).count();
  };

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
    for (auto& slot : slots)
      if (slot.worker) slot.worker->kill(SIGKILL);
    running.clear();
    for (auto& slot : slots) slot.worker.reset();  // destructors reap
  };

  // Memory: one more worker may start while the budget holds it at the largest peak measured so far
  // (running workers' high-water marks included), or at the estimate before any was measured. Idle
  // workers kept for their next segment hold memory too: every live worker counts.
  std::int64_t peak_seen = 0;
  auto memory_allows = [&](const Slot& candidate) {
    if (limits.memory_budget <= 0) return true;
    int live = 0;
    for (const auto& slot : slots) {
      if (!slot.alive()) continue;
      ++live;
      peak_seen = std::max(peak_seen, slot.worker->peak_rss_bytes());
    }
    const int after = live + (candidate.alive() ? 0 : 1);
    // One worker always runs, whatever the budget: also when idle workers kept (or started ahead) hold
    // more than the peaks measured since allow, or none of them would ever take the next segment.
    if (after <= 1 || (running.empty() && candidate.alive())) return true;
    const std::int64_t per_worker = std::max(peak_seen, limits.worker_memory);
    return static_cast<std::int64_t>(after) * per_worker <= limits.memory_budget;
  };

  // The slot's log (an idle or finished worker's), for the last line a failed worker wrote.
  auto slot_log = [&](std::size_t index, const SegmentTask& task) {
    return worker_log_path(std::filesystem::path(task.log_path).parent_path().string(), index);
  };

  // Hands the task to the slot's worker, starting one when the slot has none (or its worker is gone).
  // Its stderr goes to the slot's log beside the segments (the last line of a failed worker is its error).
  // Returns whether a worker that was already running took it.
  auto hand_over = [&](Slot& slot, std::size_t index, const Queued& q) {
    const std::string line = std::to_string(q.attempts) + " " + q.task.descriptor_path;
    for (int tries = 0; tries < 2; ++tries) {
      const bool reused = slot.alive();
      if (!reused) {
        slot.worker.reset();
        slot.worker = start_worker(worker_executable, slot_log(index, q.task));
      }
      if (slot.worker->write_line(line)) return reused;
      slot.worker->kill(SIGKILL);  // an idle worker that died meanwhile: a fresh one takes the task
      slot.worker.reset();
    }
    throw Error(ErrorCode::kInternal,
                "cannot hand segment " + std::to_string(q.task.segment) + " to a worker");
  };

  // Gives every free slot the longest segment it may take.
  auto dispatch = [&] {
    for (std::size_t s = 0; s < slots.size() && !queue.empty(); ++s) {
      Slot& slot = slots[s];
      if (slot.busy || (slot.hardware && slot.failures >= 2)) continue;
      if (!memory_allows(slot)) {
        // A slot whose worker is already alive may still take it (no new process): look on.
        if (cb.run_stats) ++cb.run_stats->held_back_for_memory;
        continue;
      }
      const int at = pick(slot);
      if (at < 0) continue;
      Queued q = queue[static_cast<std::size_t>(at)];
      queue.erase(queue.begin() + at);
      if (cb.before_start) cb.before_start(q.task, slot.backend, q.fallback_from);
      ++q.attempts;
      if (!slot.hardware) ++q.cpu_attempts;
      const bool reused = hand_over(slot, s, q);
      Running r{q, s, slot.worker.get()};
      r.reused = reused;
      slot.busy = true;
      running.push_back(std::move(r));
      if (cb.run_stats)
        cb.run_stats->max_running = std::max(cb.run_stats->max_running, static_cast<int>(running.size()));
    }
  };

  // Reads a running worker's latest lines; returns whether it is still at work. An attempt that ended
  // (done, exited, or killed by the watchdog) is moved to `ended` and its slot freed.
  std::vector<Ended> ended;
  auto collect = [&](Running& r) {
    const SegmentTask& task = r.q.task;
    bool eof = false;
    const bool finished = read_worker_lines(r, eof, cb);
    std::string watchdog;
    if (!finished && !eof && limits.watchdog_s > 0 &&
        Clock::now() - r.last_progress > std::chrono::duration<double>(limits.watchdog_s)) {
      char msg[96];
      std::snprintf(msg, sizeof msg, "no progress for %.0f s (watchdog); worker killed", limits.watchdog_s);
      watchdog = msg;
      r.child->kill(SIGKILL);
      eof = true;
    }
    if (!finished && !eof) return true;
    // Done: the worker stays for the next segment. Ended: it exited (or was killed) mid-segment.
    const int code = finished ? 0 : r.child->wait();
    const std::int64_t peak = r.child->peak_rss_bytes();
    peak_seen = std::max(peak_seen, peak);
    if (cb.run_stats) cb.run_stats->peak_rss_bytes = std::max(cb.run_stats->peak_rss_bytes, peak);
    Slot& slot = slots[r.slot];
    slot.busy = false;
    // PVT_WORKER_PER_SEGMENT=1 (benchmarks/worker_startup.py): a fresh process for every segment, as
    // before long-lived workers, so the start-up they save can be measured side by side.
    static const bool one_per_segment = std::getenv("PVT_WORKER_PER_SEGMENT") != nullptr;
    if (finished && one_per_segment) {
      slot.worker->close_stdin();
      slot.worker->wait();
    }
    if (!finished || one_per_segment) slot.worker.reset();
    Ended e{r.q, r.slot, {}, code};
    e.result.slot = static_cast<int>(r.slot);
    e.result.start_s = seconds_since_start(r.started);
    e.result.end_s = seconds_since_start(Clock::now());
    e.result.attempts = r.q.attempts;
    e.result.fallback_from = r.q.fallback_from;
    e.result.fallback_reason = r.q.fallback_reason;
    e.result.peak_rss_bytes = peak;
    e.failure = exit_failure(code, watchdog, slot_log(r.slot, task));
    if (e.failure.empty()) {
      try {
        e.result.stats = read_worker_stats(task.stats_path);
        if (e.result.stats.frames != task.expected_frames)
          e.failure = "encoded " + std::to_string(e.result.stats.frames) + " frames, expected " +
                      std::to_string(task.expected_frames);
      } catch (const Error& ex) {
        e.failure = ex.what();
      }
    }
    // Killed (SIGKILL: the OOM killer's signal, not a crash of its own) before it said a word.
    e.died_silent = r.reused && !r.heard && watchdog.empty() && code == 128 + SIGKILL;
    e.check_pending = e.failure.empty() && cb.check_output;
    if (e.failure.empty() && cb.on_written) cb.on_written(task, e.result);
    if (e.failure.empty() && !slot.hardware && r.q.attempts == 1) {
      // The next pick already goes by this timing (the output check comes after it).
      timed.push_back({task.cost - task.content_cost, task.content_cost, e.result.end_s - e.result.start_s});
      reorder_fresh(queue, timed);
    }
    ended.push_back(std::move(e));
    return false;
  };

  // What an ended attempt leads to: its result kept, a retry or fallback queued, or the pool's failure.
  auto settle = [&](Ended& e) {
    Slot& slot = slots[e.slot];
    Queued again = e.q;
    const SegmentTask& done = again.task;
    if (!e.failure.empty() && !slot.hardware && e.code == static_cast<int>(ErrorCode::kInput))
      ++again.input_failures;
    if (e.failure.empty()) {
      slot.failures = 0;
      results[done.segment] = e.result;
      if (cb.on_progress) cb.on_progress(done.segment, done.expected_frames);
      if (cb.on_done) cb.on_done(done, e.result);
    } else if (is_out_of_space(e.failure)) {
      if (cb.on_failed) cb.on_failed(done, e.failure, false);
      stop_all();
      throw Error(ErrorCode::kOutput, "segment " + std::to_string(done.segment) + ": " + e.failure);
    } else if (slot.hardware) {
      // The session died with its process; the segment goes to the CPU, next, before fresh work.
      ++slot.failures;
      again.fallback_from = slot.backend;
      again.fallback_reason = e.failure;
      if (cb.on_failed) cb.on_failed(done, e.failure, true);
      queue.push_front(again);
    } else if (e.died_silent && !again.excused) {
      // A worker kept from an earlier segment died before it said a word about this one (killed while
      // idle, say, by the OOM killer): not the segment's fault, so once per segment it is not counted.
      again.excused = true;
      --again.cpu_attempts;
      if (cb.on_failed) cb.on_failed(done, e.failure, true);
      queue.push_front(again);
    } else if (again.cpu_attempts < max_attempts) {
      if (cb.on_failed) cb.on_failed(done, e.failure, true);
      queue.push_front(again);  // retry next, before fresh work
    } else {
      const std::string msg = "segment " + std::to_string(done.segment) + " failed after " +
                              std::to_string(again.attempts) + " attempts: " + e.failure;
      if (cb.on_failed) cb.on_failed(done, e.failure, false);
      stop_all();
      // Workers that exited with kInput on every CPU attempt could not read or decode their part of the
      // input: the job fails as an input error, and its message can say so.
      const bool input = again.input_failures == again.cpu_attempts;
      throw Error(input ? ErrorCode::kInput : ErrorCode::kEncode, msg);
    }
  };

  while (!queue.empty() || !running.empty()) {
    if (stop_requested(cb.cancel)) {
      stop_all();
      throw Error(ErrorCode::kInterrupted, "interrupted");
    }
    dispatch();

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

    ended.clear();
    for (std::size_t i = 0; i < running.size();) {
      if (collect(running[i]))
        ++i;
      else
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
    }
    // Failures first (a retry goes in front of the queue), then the freed slots take their next
    // segments, and only then are the finished segments checked and recorded (demuxed, hashed): a
    // worker does not wait for the job's bookkeeping of the segment it has just written.
    for (auto& e : ended)
      if (!e.check_pending) settle(e);
    dispatch();
    for (auto& e : ended) {
      if (!e.check_pending) continue;
      e.failure = cb.check_output(e.q.task);
      settle(e);
    }
  }
  // Idle workers read the end of their input and exit.
  for (auto& slot : slots)
    if (slot.worker) {
      slot.worker->close_stdin();
      slot.worker->wait();
    }
  return results;
}

}  // namespace pvt
