#include "tasks.hpp"

namespace pvt::mcp {

const char* task_status_name(TaskStatus status) {
  switch (status) {
    case TaskStatus::kWorking:
      return "working";
    case TaskStatus::kInputRequired:
      return "input_required";
    case TaskStatus::kCompleted:
      return "completed";
    case TaskStatus::kFailed:
      return "failed";
    case TaskStatus::kCancelled:
      return "cancelled";
  }
  return "working";
}

nlohmann::json task_json(const TaskInfo& t) {
  nlohmann::json j = {{"taskId", t.id},
                      {"status", task_status_name(t.status)},
                      {"createdAt", t.created_at},
                      {"lastUpdatedAt", t.updated_at.empty() ? t.created_at : t.updated_at},
                      {"ttl", t.ttl_ms ? nlohmann::json(*t.ttl_ms) : nlohmann::json()},
                      {"pollInterval", t.poll_interval_ms}};
  if (!t.message.empty()) j["statusMessage"] = t.message;
  return j;
}

}  // namespace pvt::mcp
