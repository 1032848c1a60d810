// MCP tasks (protocol 2025-11-25, experimental): a tools/call with `task` answers at once with a task,
// and the client follows it with tasks/get, tasks/result, tasks/list and tasks/cancel, or listens for
// notifications/tasks/status. This file holds the task's wire shape and the source of the tasks that
// outlive a session: pvt's jobs (the registry's, and the interrupted ones found on disk after a restart).
#pragma once

#include <atomic>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pvt::mcp {

enum class TaskStatus { kWorking, kInputRequired, kCompleted, kFailed, kCancelled };

const char* task_status_name(TaskStatus status);
inline bool is_terminal(TaskStatus s) {
  return s == TaskStatus::kCompleted || s == TaskStatus::kFailed || s == TaskStatus::kCancelled;
}

struct TaskInfo {
  std::string id;
  TaskStatus status = TaskStatus::kWorking;
  std::string message;                 // statusMessage: progress while working, why when failed
  std::string created_at, updated_at;  // ISO 8601 UTC
  std::optional<long long> ttl_ms;     // null: kept as long as the server runs (jobs: as long as on disk)
  int poll_interval_ms = 1000;
};

// The Task object (tasks/get's result, each tasks/list entry, the status notification's params).
nlohmann::json task_json(const TaskInfo& task);

// Tasks the session did not create in this process, or that it no longer holds: pvt's jobs.
class TaskSource {
 public:
  virtual ~TaskSource() = default;
  virtual std::vector<TaskInfo> list() = 0;
  virtual std::optional<TaskInfo> get(const std::string& id) = 0;
  // Stops the work; the task after it. nullopt: no such task. Throws rpc::RpcError (invalid params) for a
  // task already terminal.
  virtual std::optional<TaskInfo> cancel(const std::string& id) = 0;
  // Blocks until the task is terminal (or *stop), then its CallToolResult. nullopt: no such task.
  virtual std::optional<nlohmann::json> result(const std::string& id, const std::atomic<bool>& stop) = 0;
};

}  // namespace pvt::mcp
