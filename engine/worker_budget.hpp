// How many workers a job runs and how they share the machine: decided once per run from the options,
// the picture size and what the machine has (a resume keeps the thread count its segments were made with).
#pragma once

#include <cstdint>

#include "job_state.hpp"
#include "media_index.hpp"
#include "transcode_job.hpp"

namespace pvt {

struct WorkerBudget {
  int cores = 1;
  std::int64_t memory_budget = 0;  // bytes all workers may use at once
  std::int64_t worker_memory = 0;  // the expected peak of one worker, until the pool measures one
  int workers = 1;                 // CPU worker slots
  int threads_per_worker = 1;
};

// previous: the state being resumed, or null.
WorkerBudget worker_budget(const TranscodeOptions& options, const MediaInfo& info, const JobState* previous);

}  // namespace pvt
