// MCP tasks in the session (see mcp_session.hpp): creating a task from a tools/call, following its tool
// to the end, and the tasks/* requests.
#include <algorithm>

#include "job_state.hpp"
#include "mcp_session.hpp"
#include "message_text.hpp"
#include "session_call.hpp"

namespace pvt::mcp {

using rpc::Message;
using rpc::RpcError;

namespace {

constexpr const char* kRelatedTask = "io.modelcontextprotocol/related-task";
constexpr int kPollIntervalMs = 1000;
constexpr std::size_t kTasksPerPage = 100;
// A status notification while working only when the message changed, and not more often than this.
constexpr auto kStatusEvery = std::chrono::seconds(5);

std::string task_id_param(const json& params) {
  const auto it = params.find("taskId");
  if (it == params.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    throw RpcError(rpc::kInvalidParams, "Invalid params: taskId (a string) is required");
  return it->get<std::string>();
}

[[noreturn]] void unknown_task(const std::string& id) {
  throw RpcError(rpc::kInvalidParams, "Invalid params: there is no task '" + excerpt(id) + "'");
}

// A job's own end decides (a job cancelled through cancel_transcode is a cancelled task, one that succeeded
// before a late tasks/cancel a completed one); the cancel flag only for tools without a job state.
TaskStatus status_of(const json& result, bool cancelled) {
  const auto sc = result.find("structuredContent");
  if (sc != result.end() && sc->is_object() && sc->contains("state") && (*sc)["state"].is_string()) {
    const std::string state = (*sc)["state"];
    if (state == "succeeded") return TaskStatus::kCompleted;
    if (state == "cancelled") return TaskStatus::kCancelled;
    if (state == "failed" || state == "interrupted") return TaskStatus::kFailed;
  }
  if (cancelled) return TaskStatus::kCancelled;
  return result.value("isError", false) ? TaskStatus::kFailed : TaskStatus::kCompleted;
}

}  // namespace

bool McpSession::tasks_enabled() const {
  return protocol_version() == "2025-11-25";
}

void McpSession::start_task_call(const std::shared_ptr<Call>& call, const Tool& tool, json arguments,
                                 const json& task_param) {
  auto task = std::make_shared<Task>();
  task->call = call;
  task->request_id = call->id();
  task->info.created_at = task->info.updated_at = utc_now_text();
  task->info.poll_interval_ms = kPollIntervalMs;
  if (const auto ttl = task_param.find("ttl");
      ttl != task_param.end() && ttl->is_number_integer() && ttl->get<long long>() > 0)
    task->info.ttl_ms = ttl->get<long long>();
  // Weak: the task holds its call, so the call's callbacks must not hold the task.
  const std::weak_ptr<Task> weak = task;
  call->on_accepted = [this, weak](const std::string& job_id) {
    if (auto t = weak.lock()) announce_task(t, job_id);
  };
  call->on_message = [this, weak](const std::string& message) {
    if (auto t = weak.lock()) task_progress(t, message);
  };
  const bool names_its_job = tool.names_its_job;
  // Tasks run past the request's answer, so they do not hold off the end of input (counts_for_idle).
  spawn(
      call,
      [this, task, call, &tool, names_its_job, arguments = std::move(arguments)] {
        if (!names_its_job) announce_task(task, {});
        json reply = call_tool(*call, tool, arguments, *call);
        // A tool that failed before naming its job (a bad argument) still gets its task: it is failed.
        announce_task(task, {});
        json result =
            reply.contains("result") ? reply["result"] : tool_error(reply["error"].value("message", ""));
        finish_task(task, std::move(result));
      },
      false);
}

// Answers the tools/call with CreateTaskResult, once. id: the job's id, or empty for "task-N".
void McpSession::announce_task(const std::shared_ptr<Task>& task, std::string id) {
  json reply;
  {
    std::lock_guard lock(mutex_);
    if (task->announced) return;
    if (id.empty() || tasks_.count(id)) id = "task-" + std::to_string(next_task_++);
    task->info.id = id;
    task->announced = true;
    tasks_[id] = task;
    // From here on the task is the handle: a notifications/cancelled for the request no longer applies.
    in_flight_.erase(rpc::id_key(task->request_id));
    reply = rpc::make_result(task->request_id, {{"task", task_json(task->info)}});
  }
  send(reply);
}

void McpSession::finish_task(const std::shared_ptr<Task>& task, json result) {
  json note;
  {
    std::lock_guard lock(mutex_);
    if (!is_terminal(task->info.status)) {
      task->info.status = status_of(result, task->call->cancelled());
      for (const auto& c : result.value("content", json::array()))
        if (c.value("type", "") == "text") task->info.message = c.value("text", "");
      task->info.updated_at = utc_now_text();
    }
    task->result = std::move(result);
    note = rpc::make_notification("notifications/tasks/status", task_json(task->info));
  }
  task_changed_.notify_all();
  send(note);
}

void McpSession::task_progress(const std::shared_ptr<Task>& task, const std::string& message) {
  json note;
  {
    std::lock_guard lock(mutex_);
    if (!task->announced || is_terminal(task->info.status) || task->info.message == message) return;
    task->info.message = message;
    task->info.updated_at = utc_now_text();
    const auto now = std::chrono::steady_clock::now();
    if (now - task->last_notified < kStatusEvery) return;
    task->last_notified = now;
    note = rpc::make_notification("notifications/tasks/status", task_json(task->info));
  }
  send(note);
}

std::shared_ptr<McpSession::Task> McpSession::find_task(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : it->second;
}

// tasks/* run on their own threads: tasks/result blocks until the task ends, tasks/cancel until its job
// has stopped, and the reader thread must stay free for ping and cancellations.
void McpSession::start_task_request(const Message& m) {
  start_async_request(m,
                      [this, method = m.method, params = m.params](const Call& call) -> std::optional<json> {
                        if (method == "tasks/get") return on_tasks_get(params);
                        if (method == "tasks/list") return on_tasks_list(params);
                        if (method == "tasks/cancel") return on_tasks_cancel(params);
                        if (method == "tasks/result") return on_tasks_result(params, call);
                        throw RpcError(rpc::kMethodNotFound, "Method not found: " + excerpt(method));
                      });
}

json McpSession::on_tasks_get(const json& params) {
  const std::string id = task_id_param(params);
  if (const auto task = find_task(id)) {
    std::lock_guard lock(mutex_);
    return task_json(task->info);
  }
  if (task_source_)
    if (auto info = task_source_->get(id)) return task_json(*info);
  unknown_task(id);
}

json McpSession::on_tasks_list(const json& params) {
  std::vector<TaskInfo> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, task] : tasks_) all.push_back(task->info);
  }
  if (task_source_)
    for (auto& info : task_source_->list())
      if (std::none_of(all.begin(), all.end(), [&](const TaskInfo& t) { return t.id == info.id; }))
        all.push_back(std::move(info));
  std::stable_sort(all.begin(), all.end(), [](const TaskInfo& a, const TaskInfo& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  // The cursor is the position of the next page: opaque to the client, checked here.
  std::size_t start = 0;
  if (const auto c = params.find("cursor"); c != params.end() && !c->is_null()) {
    const std::string text = c->is_string() ? c->get<std::string>() : std::string();
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(text) > all.size())
      throw RpcError(rpc::kInvalidParams, "Invalid params: unknown cursor");
    start = std::stoul(text);
  }
  json list = json::array();
  for (std::size_t i = start; i < all.size() && i < start + kTasksPerPage; ++i)
    list.push_back(task_json(all[i]));
  json result = {{"tasks", std::move(list)}};
  if (start + kTasksPerPage < all.size()) result["nextCursor"] = std::to_string(start + kTasksPerPage);
  return result;
}

json McpSession::on_tasks_cancel(const json& params) {
  const std::string id = task_id_param(params);
  const auto task = find_task(id);
  if (!task) {
    if (task_source_)
      if (auto info = task_source_->cancel(id)) return task_json(*info);
    unknown_task(id);
  }
  {
    std::unique_lock lock(mutex_);
    if (is_terminal(task->info.status))
      throw RpcError(rpc::kInvalidParams, "Invalid params: cannot cancel task '" + id + "': it is already " +
                                              task_status_name(task->info.status));
    task->call->cancel();
    // The tool stops its work (a transcode cancels its job: workers killed, partial output removed);
    // a tool that cannot stop at once is reported cancelled anyway and its late result dropped.
    task_changed_.wait_for(lock, std::chrono::seconds(60),
                           [&] { return task->result.has_value() || shutting_down_; });
    if (!is_terminal(task->info.status)) {
      task->info.status = TaskStatus::kCancelled;
      task->info.message = "cancelled by the client";
      task->info.updated_at = utc_now_text();
    }
  }
  task_changed_.notify_all();
  std::lock_guard lock(mutex_);
  return task_json(task->info);
}

std::optional<json> McpSession::on_tasks_result(const json& params, const Call& call) {
  const std::string id = task_id_param(params);
  const auto task = find_task(id);
  json result;
  if (!task) {
    std::optional<json> r = task_source_ ? task_source_->result(id, call.cancel_flag()) : std::nullopt;
    if (!r) unknown_task(id);
    result = std::move(*r);
  } else {
    std::unique_lock lock(mutex_);
    task_changed_.wait(lock,
                       [&] { return is_terminal(task->info.status) || shutting_down_ || call.cancelled(); });
    if (call.cancelled() || shutting_down_) return std::nullopt;
    result = task->result ? *task->result : tool_error("The task was cancelled before it produced a result.");
  }
  if (call.cancelled()) return std::nullopt;
  result["_meta"][kRelatedTask] = {{"taskId", id}};
  return result;
}

}  // namespace pvt::mcp
