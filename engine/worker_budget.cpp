#include "worker_budget.hpp"

#include <algorithm>

#include "system_resources.hpp"

namespace pvt {

WorkerBudget worker_budget(const TranscodeOptions& o, const MediaInfo& info, const JobState* previous) {
  WorkerBudget b;
  b.cores = usable_cores();
  b.memory_budget = o.max_memory > 0 ? o.max_memory : memory_budget_bytes();
  b.worker_memory =
      estimated_worker_memory(info.width, info.height, o.lookahead,
                              o.encoder_lookahead >= 0 ? o.encoder_lookahead : preset_rc_lookahead(o.preset));
  b.workers = o.workers > 0 ? o.workers : default_worker_count(b.worker_memory, b.memory_budget);
  b.threads_per_worker = o.threads_per_worker > 0 ? o.threads_per_worker
                         : previous               ? previous->threads_per_worker
                                                  : std::max(1, b.cores / b.workers);
  return b;
}

}  // namespace pvt
