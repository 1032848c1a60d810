// Stopping long work: a process-wide flag for signals, and per-job flags (the MCP server cancels one
// job among several). Loops that run for long poll stop_requested() and throw Error(kInterrupted).
#pragma once

#include <atomic>

namespace pvt {

// Set from a signal handler (SIGINT/SIGTERM): every job in the process stops.
extern std::atomic<bool> g_stop_requested;

inline bool stop_requested(const std::atomic<bool>* job_cancel) {
  return g_stop_requested.load(std::memory_order_relaxed) ||
         (job_cancel && job_cancel->load(std::memory_order_relaxed));
}

}  // namespace pvt
