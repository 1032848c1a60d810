#include "job_registry.hpp"

#include "job_state.hpp"

#include <algorithm>

#include "disk_jobs.hpp"
#include "error.hpp"
#include "report_json.hpp"

namespace pvt::mcp {

using Clock = std::chrono::steady_clock;

namespace {

// Every change: a new version for long-polls, and the time it happened (MCP tasks' lastUpdatedAt).
void touch(JobStatus& s) {
  ++s.version;
  s.updated_at = utc_now_text();
}

}  // namespace

struct JobRegistry::Job {
  JobStatus status;
  TranscodeOptions options;
  std::atomic<bool> cancel{false};
  std::thread thread;
  bool analyzed = false;
  double encode_started_s = -1;  // engine elapsed time when encoding began, for fps
};

const char* job_state_name(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
    case JobState::kInterrupted:
      return "interrupted";
  }
  return "unknown";
}

double job_percent(const JobProgress& p, bool analyzed) {
  const double frac =
      p.frames_total > 0 ? std::clamp(static_cast<double>(p.frames_done) / p.frames_total, 0.0, 1.0) : 0.0;
  const double encode_base = analyzed ? 20 : 0;
  if (p.stage == "analyze") return 20 * frac;
  if (p.stage == "encode") return encode_base + (95 - encode_base) * frac;
  if (p.stage == "assemble") return 96;
  if (p.stage == "verify") return 98;
  if (p.stage == "done") return 100;
  return 0;
}

JobRegistry::JobRegistry(int max_concurrent, Runner runner, Logger* log, Interrupt interrupt)
    : max_concurrent_(std::max(1, max_concurrent)),
      runner_(std::move(runner)),
      log_(log),
      interrupt_(std::move(interrupt)) {}

JobRegistry::~JobRegistry() {
  shutdown();
}

JobRegistry::Job* JobRegistry::find_locked(const std::string& id) const {
  for (const auto& j : jobs_)
    if (j->status.id == id) return j.get();
  return nullptr;
}

JobStatus JobRegistry::submit(TranscodeOptions options, std::string output, std::string format,
                              std::string resumes) {
  reap();
  JobStatus submitted;
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) throw Error(ErrorCode::kInterrupted, "the server is shutting down");
    for (const auto& j : jobs_)
      if (!is_finished(j->status.state) && j->status.output == output) throw OutputBusy(j->status.id, output);
    auto job = std::make_unique<Job>();
    job->status.id = "job-" + std::to_string(next_id_++);
    job->status.created_at = job->status.updated_at = utc_now_text();
    job->status.input = options.input;
    job->status.executor = options.executor;
    job->status.output = std::move(output);
    job->status.format = std::move(format);
    job->status.resumes = std::move(resumes);
    job->options = std::move(options);
    queue_.push_back(job.get());
    jobs_.push_back(std::move(job));
    start_ready_locked();
    submitted = jobs_.back()->status;
  }
  // Logging may block on a slow client's pipe: never while holding the registry lock.
  log(LogLevel::kInfo, submitted.id + ": submitted " + submitted.input + " -> " + submitted.output);
  return submitted;
}

void JobRegistry::start_ready_locked() {
  while (!shutting_down_ && running_ < max_concurrent_ && !queue_.empty()) {
    Job* job = queue_.front();
    queue_.pop_front();
    job->status.state = JobState::kRunning;
    job->status.stage = "probe";
    touch(job->status);
    ++running_;
    job->thread = std::thread(&JobRegistry::run, this, job);
  }
  changed_.notify_all();
}

void JobRegistry::run(Job* job) {
  const std::string id = job->status.id;
  log(LogLevel::kInfo, id + ": started");
  TranscodeOptions options = job->options;
  options.cancel = &job->cancel;

  auto on_progress = [this, job](const JobProgress& p) {
    std::lock_guard lock(mutex_);
    JobStatus& s = job->status;
    if (p.stage == "analyze") job->analyzed = true;
    if (p.stage == "encode" && job->encode_started_s < 0) job->encode_started_s = p.elapsed_s;
    s.stage = p.stage;
    s.percent = std::max(s.percent, job_percent(p, job->analyzed));
    s.frames_done = p.frames_done;
    s.frames_total = p.frames_total;
    s.segments_done = p.segments_done;
    s.segments_total = p.segments_total;
    if (!p.cluster_job_id.empty()) s.slurm_job_id = p.cluster_job_id;
    s.slurm_tasks = p.cluster_tasks;
    s.segment_quality = p.segment_quality;
    const double encoding_s = job->encode_started_s >= 0 ? p.elapsed_s - job->encode_started_s : 0;
    if (p.stage == "encode" && encoding_s > 0.5 && p.frames_done > 0) {
      s.fps = static_cast<double>(p.frames_done) / encoding_s;
      s.eta_seconds = static_cast<double>(std::max<std::int64_t>(0, p.frames_total - p.frames_done)) / s.fps;
    } else if (p.stage != "encode") {
      s.eta_seconds.reset();
    }
    touch(s);
    changed_.notify_all();
  };
  auto on_warning = [this, id](const std::string& w) { log(LogLevel::kWarning, id + ": " + w); };

  JobState state = JobState::kFailed;
  std::optional<std::string> error;
  std::optional<TranscodeSummary> summary;
  SavedJob saved;
  try {
    summary = runner_(options, on_progress, on_warning, &saved);
    state = JobState::kSucceeded;
  } catch (const Error& e) {
    if (job->cancel) {
      state = JobState::kCancelled;
    } else if (e.code() == ErrorCode::kInterrupted) {
      // Stopped by the shutdown: resumable when the engine got far enough to keep a state.
      state = saved.dir.empty() ? JobState::kCancelled : JobState::kInterrupted;
    } else {
      error = e.what();
    }
  } catch (const std::exception& e) {
    if (job->cancel)
      state = JobState::kCancelled;
    else
      error = std::string("internal error: ") + e.what();
  }

  {
    std::lock_guard lock(mutex_);
    JobStatus& s = job->status;
    s.state = state;
    s.error = error;
    s.eta_seconds.reset();
    if (summary) {
      s.stage = "done";
      s.percent = 100;
      s.frames_done = s.frames_total = summary->frames;
      s.segments_done = s.segments_total = static_cast<int>(summary->segments.size());
      s.fps = summary->fps;
      s.eta_seconds = 0.0;
      s.output = summary->output;
      s.files = summary->files;
      s.summary = summary_json(*summary);
      s.report = std::make_shared<const TranscodeSummary>(*summary);
    } else if (!saved.dir.empty() && state != JobState::kCancelled) {
      s.resume_job_id = disk_job_id_in(saved.dir);
      s.saved_dir = saved.dir;
      s.segments_done = saved.segments_done;
      s.segments_total = saved.segments_total;
    }
    touch(s);
    --running_;
    start_ready_locked();  // also wakes every waiter
  }
  if (state == JobState::kSucceeded)
    log(LogLevel::kInfo, id + ": succeeded: " + summary->output);
  else if (state == JobState::kCancelled)
    log(LogLevel::kInfo, id + ": cancelled; partial output removed");
  else if (state == JobState::kInterrupted)
    log(LogLevel::kInfo, id + ": interrupted; its state is kept in " + saved.dir + " to resume from");
  else
    log(LogLevel::kError, id + ": failed: " + error.value_or("unknown error"));
}

std::optional<JobStatus> JobRegistry::status(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const Job* j = find_locked(id);
  if (!j) return std::nullopt;
  return j->status;
}

std::vector<JobStatus> JobRegistry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<JobStatus> out;
  for (const auto& j : jobs_) out.push_back(j->status);
  return out;
}

std::optional<JobStatus> JobRegistry::resumer_of(const std::string& resume_id) const {
  if (resume_id.empty()) return std::nullopt;
  std::lock_guard lock(mutex_);
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it)
    if ((*it)->status.resumes == resume_id) return (*it)->status;
  return std::nullopt;
}

std::optional<std::string> JobRegistry::job_writing(const std::string& output) const {
  std::lock_guard lock(mutex_);
  for (const auto& j : jobs_)
    if (!is_finished(j->status.state) && j->status.output == output) return j->status.id;
  return std::nullopt;
}

std::optional<JobStatus> JobRegistry::wait(const std::string& id, Clock::time_point deadline,
                                           const std::atomic<bool>* stop,
                                           const std::function<void(const JobStatus&)>& on_update) {
  std::unique_lock lock(mutex_);
  Job* job = find_locked(id);
  if (!job) return std::nullopt;
  std::uint64_t seen = 0;
  bool first = true;
  for (;;) {
    if (on_update && (first || job->status.version != seen)) {
      const JobStatus snapshot = job->status;
      seen = snapshot.version;
      first = false;
      lock.unlock();
      on_update(snapshot);
      lock.lock();
    }
    const auto now = Clock::now();
    if (is_finished(job->status.state) || now >= deadline || (stop && *stop)) return job->status;
    // Wake on change, but also every 200 ms: the stop flag has no way to notify this condition variable,
    // and bursts of engine updates are coalesced to a few per second.
    changed_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(200)));
    if (!is_finished(job->status.state)) {
      lock.unlock();
      std::this_thread::sleep_until(std::min(deadline, Clock::now() + std::chrono::milliseconds(150)));
      lock.lock();
    }
  }
}

std::optional<JobStatus> JobRegistry::cancel(const std::string& id, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  Job* job = find_locked(id);
  if (!job) return std::nullopt;
  JobStatus& s = job->status;
  if (s.state == JobState::kQueued) {
    queue_.erase(std::remove(queue_.begin(), queue_.end(), job), queue_.end());
    s.state = JobState::kCancelled;
    touch(s);
    changed_.notify_all();
    lock.unlock();
    log(LogLevel::kInfo, id + ": cancelled before it started");
    return status(id);
  }
  // Once the server shuts down a job keeps its state: a late cancel (a wait:true call dropped by the
  // shutdown) must not turn that into a discard.
  if (s.state == JobState::kRunning && !shutting_down_) {
    job->cancel = true;
    changed_.wait_for(lock, timeout, [&] { return is_finished(s.state); });
  }
  return s;
}

void JobRegistry::reap() {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(mutex_);
    for (auto& j : jobs_)
      if (is_finished(j->status.state) && j->thread.joinable()) done.push_back(std::move(j->thread));
  }
  for (auto& t : done) t.join();  // the thread has at most its final log line left to run
}

void JobRegistry::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (Job* j : queue_) {
      j->status.state = JobState::kCancelled;
      touch(j->status);
    }
    queue_.clear();
    if (!interrupt_)
      for (auto& j : jobs_) j->cancel = true;
    changed_.notify_all();
  }
  if (interrupt_) interrupt_();
  // Running jobs stop at their next cancellation check and kill their workers; interrupted, they keep
  // their state (and finished segments) in the job folder, cancelled they remove it.
  for (;;) {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      for (auto& j : jobs_)
        if (j->thread.joinable()) threads.push_back(std::move(j->thread));
    }
    if (threads.empty()) break;
    for (auto& t : threads) t.join();
  }
}

}  // namespace pvt::mcp
