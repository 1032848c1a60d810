#include "job_tasks.hpp"

#include <chrono>

#include "job_lookup.hpp"
#include "job_status_json.hpp"
#include "json_rpc.hpp"

namespace pvt::mcp {

TaskInfo job_task(const JobStatus& s) {
  TaskInfo t;
  t.id = s.id;
  t.created_at = s.created_at;
  t.updated_at = s.updated_at;
  switch (s.state) {
    case JobState::kQueued:
    case JobState::kRunning:
      t.status = TaskStatus::kWorking;
      break;
    case JobState::kSucceeded:
      t.status = TaskStatus::kCompleted;
      break;
    case JobState::kCancelled:
      t.status = TaskStatus::kCancelled;
      break;
    case JobState::kFailed:
    case JobState::kInterrupted:
      t.status = TaskStatus::kFailed;
      break;
  }
  t.message = status_sentence(s);
  return t;
}

nlohmann::json job_result(const JobStatus& s) {
  nlohmann::json r = tool_result(status_sentence(s), status_json(s), resource_links(s));
  if (s.state != JobState::kSucceeded) r["isError"] = true;
  return r;
}

std::vector<TaskInfo> JobTasks::list() {
  std::vector<TaskInfo> out;
  for (const auto& s : all_jobs(env_)) out.push_back(job_task(s));
  return out;
}

std::optional<TaskInfo> JobTasks::get(const std::string& id) {
  auto s = find_job(env_, id);
  if (!s) return std::nullopt;
  TaskInfo t = job_task(*s);
  t.id = id;  // an on-disk id answers with the job resuming it, under the id asked for
  return t;
}

std::optional<TaskInfo> JobTasks::cancel(const std::string& id) {
  const auto before = find_job(env_, id);
  if (!before) return std::nullopt;
  if (is_finished(before->state))
    throw rpc::RpcError(rpc::kInvalidParams,
                        "Invalid params: cannot cancel task '" + id + "': it is already " +
                            task_status_name(job_task(*before).status) +
                            (before->state == JobState::kInterrupted
                                 ? std::string(" (interrupted; cancel_transcode discards its kept segments)")
                                 : std::string()));
  // Waits for the engine to kill the workers and remove partial output, so "cancelled" means done.
  const auto after = env_.jobs.cancel(before->id, std::chrono::seconds(60));
  TaskInfo t = job_task(after ? *after : *before);
  t.id = id;
  return t;
}

std::optional<nlohmann::json> JobTasks::result(const std::string& id, const std::atomic<bool>& stop) {
  auto s = find_job(env_, id);
  if (!s) return std::nullopt;
  if (!is_finished(s->state)) s = env_.jobs.wait(s->id, std::chrono::steady_clock::time_point::max(), &stop);
  if (!s) return std::nullopt;
  return job_result(*s);
}

}  // namespace pvt::mcp
