// The executor that runs workers on this machine: the long-lived worker processes of worker_pool.hpp,
// behind the interface a cluster executor shares (executor.hpp).
#pragma once

#include "executor.hpp"
#include "worker_pool.hpp"

namespace pvt {

class LocalExecutor final : public SegmentExecutor {
 public:
  // What only a local pool has: the watchdog and the memory budget. Each job's max_attempts replaces
  // limits.max_attempts, so the rule is the same for every executor.
  explicit LocalExecutor(PoolLimits limits) : limits_(limits) {}
  // Starts `count` workers now (start_warm_workers), for run() to hand its first segments to.
  void start_ahead(int count, const std::string& log_dir);
  ExecutorStats run(const ExecutorJob& job, SegmentReports& reports) override;

 private:
  PoolLimits limits_;
  std::vector<std::unique_ptr<ChildProcess>> warm_;  // stopped by their destructors if run() never comes
};

}  // namespace pvt
