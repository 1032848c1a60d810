// pvt's jobs as MCP tasks (tasks.hpp): every job of the registry and every interrupted job found on disk
// is a task under its job id, so tasks/list after a server restart shows what an earlier server left
// unfinished. An interrupted job is a failed task whose message says how to resume it (transcode_video
// with resume_job_id, which starts a new task): a task's terminal state never changes.
#pragma once

#include "tasks.hpp"
#include "tools.hpp"

namespace pvt::mcp {

// The task state of a job: queued and running are working, succeeded is completed, cancelled is
// cancelled, failed and interrupted are failed.
TaskInfo job_task(const JobStatus& job);

// A job's CallToolResult, as transcode_video with wait:true answers it (isError unless it succeeded).
nlohmann::json job_result(const JobStatus& job);

class JobTasks final : public TaskSource {
 public:
  explicit JobTasks(ToolEnv& env) : env_(env) {}
  std::vector<TaskInfo> list() override;
  std::optional<TaskInfo> get(const std::string& id) override;
  std::optional<TaskInfo> cancel(const std::string& id) override;
  std::optional<nlohmann::json> result(const std::string& id, const std::atomic<bool>& stop) override;

 private:
  ToolEnv& env_;
};

}  // namespace pvt::mcp
