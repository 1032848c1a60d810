// The session's request and task records (internal to mcp_session*.cpp): a Call is one request being
// answered and the RequestContext its tool sees; a Task is what a task-augmented tools/call became.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>

#include "mcp_session.hpp"

namespace pvt::mcp {

class McpSession::Call : public RequestContext {
 public:
  Call(McpSession& session, json id, json progress_token, bool is_task = false)
      : session_(session), id_(std::move(id)), token_(std::move(progress_token)), is_task_(is_task) {}

  const json& id() const { return id_; }
  const std::atomic<bool>& cancel_flag() const override { return cancel_; }
  void cancel() { cancel_ = true; }
  bool is_task() const override { return is_task_; }

  // Task calls: where accepted() and progress messages go.
  std::function<void(const std::string& job_id)> on_accepted;
  std::function<void(const std::string& message)> on_message;

  void accepted(const std::string& job_id) override {
    if (on_accepted) on_accepted(job_id);
  }

  void progress(double value, std::optional<double> total, const std::string& message) override {
    if (on_message && !message.empty()) on_message(message);
    if (token_.is_null() || cancel_) return;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    // MCP wants progress to increase with every notification; equal values carry nothing new anyway.
    if (sent_any_ && value <= last_value_) return;
    const bool final = total && value >= *total;
    // About one a second: hosts render it, and a chatty stream would crowd out real replies.
    if (sent_any_ && !final && now - last_sent_ < std::chrono::milliseconds(950)) return;
    json params = {{"progressToken", token_}, {"progress", value}};
    if (total) params["total"] = *total;
    if (!message.empty()) params["message"] = message;
    session_.send(rpc::make_notification("notifications/progress", std::move(params)));
    sent_any_ = true;
    last_value_ = value;
    last_sent_ = now;
  }

 private:
  McpSession& session_;
  const json id_;
  const json token_;
  const bool is_task_;
  std::atomic<bool> cancel_{false};
  std::mutex mutex_;
  bool sent_any_ = false;
  double last_value_ = 0;
  std::chrono::steady_clock::time_point last_sent_;
};

// Guarded by the session's mutex_.
struct McpSession::Task {
  TaskInfo info;
  std::shared_ptr<Call> call;  // its tool's RequestContext (cancel goes through it)
  json request_id;             // the tools/call it answers, until announced
  bool announced = false;      // CreateTaskResult sent: status notifications may follow
  std::optional<json> result;  // the CallToolResult, once terminal
  std::chrono::steady_clock::time_point last_notified{};
};

}  // namespace pvt::mcp
