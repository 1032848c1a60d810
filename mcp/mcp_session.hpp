// The MCP session: lifecycle (initialize, version negotiation, initialized), ping, logging/setLevel,
// tools/list and tools/call, progress and cancellation. It is driven by whole lines in and writes whole
// lines out through a sink, so the stdio transport, a future HTTP transport and the unit tests all drive
// the same object.
//
// Threads: handle_line() is called from one reader thread and never blocks on tool work. Each tools/call
// runs on its own thread, so a long call (a wait:true transcode, a long-poll, an analysis) never delays
// ping, other calls or notifications/cancelled. All output goes through one rpc::LineWriter.
//
// MCP tasks (protocol 2025-11-25 only; an older client sees none of it): a tools/call with `task` for a
// tool that allows it answers at once with a task and runs the tool to its end on its own thread, as a
// wait:true call would; tasks/get, tasks/result, tasks/list and tasks/cancel follow it, and
// notifications/tasks/status report its changes. A tool whose work is a pvt job names the job, and the
// task takes the job's id; the TaskSource (the server's jobs) answers for the ids this session did not
// create, such as an interrupted job found on disk after a restart.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "json_rpc.hpp"
#include "logging.hpp"
#include "resources.hpp"
#include "tasks.hpp"
#include "tool.hpp"

namespace pvt::mcp {

inline constexpr const char* kLatestProtocolVersion = "2025-11-25";
// Versions this server speaks, newest first. A client asking for another gets the newest.
inline const std::vector<std::string> kSupportedProtocolVersions = {"2025-11-25", "2025-06-18", "2025-03-26"};

std::string negotiate_protocol_version(const json& requested);

struct ServerInfo {
  std::string name = "pvt";
  std::string version = "0.1.0";
  std::string instructions;
};

class McpSession {
 public:
  using LineSink = rpc::LineWriter::Sink;

  McpSession(ServerInfo info, std::vector<Tool> tools, LineSink out,
             LogLevel client_log_level = LogLevel::kInfo, TaskSource* task_source = nullptr,
             ResourceSource* resource_source = nullptr);
  ~McpSession();
  McpSession(const McpSession&) = delete;
  McpSession& operator=(const McpSession&) = delete;

  // One incoming line (without its newline). too_long: the transport dropped an oversized line.
  void handle_line(std::string_view line, bool too_long = false);

  // notifications/message, once initialized and when at or above the level the client asked for.
  void log(LogLevel level, const std::string& text);

  // Blocks until no request is being answered (tests; the end of input). Tasks running after their
  // creation was answered do not count: they are the server's jobs, which shutdown() interrupts.
  void wait_idle();
  // The same with a time limit; true when idle.
  bool wait_idle_for(std::chrono::milliseconds timeout);
  // Cancels every request in flight (their results are dropped) and joins their threads. Idempotent.
  void shutdown();

  std::string protocol_version() const;
  bool initialized() const { return initialized_.load(); }

 private:
  class Call;   // one tools/call in flight: its RequestContext
  struct Task;  // one task this session created

  void dispatch(const rpc::Message& m);
  void on_notification(const rpc::Message& m);
  json on_initialize(const json& params);
  json on_set_level(const json& params);
  json on_tools_list() const;
  void start_tool_call(const rpc::Message& m);
  void run_tool_call(const std::shared_ptr<Call>& call, const Tool& tool, const json& arguments);
  // Runs body on its own thread for request `call` (registered in in_flight_); false when shutting down.
  bool spawn(const std::shared_ptr<Call>& call, std::function<void()> body, bool counts_for_idle = true);
  json call_tool(const Call& call, const Tool& tool, const json& arguments, RequestContext& request);

  // Tasks (mcp_session_tasks.cpp).
  bool tasks_enabled() const;
  void start_task_call(const std::shared_ptr<Call>& call, const Tool& tool, json arguments, const json& task);
  void announce_task(const std::shared_ptr<Task>& task, std::string id);
  void finish_task(const std::shared_ptr<Task>& task, json result);
  void task_progress(const std::shared_ptr<Task>& task, const std::string& message);
  // Answers request m on its own thread with what `answer` returns (nullopt: no reply, it was cancelled).
  void start_async_request(const rpc::Message& m, std::function<std::optional<json>(const Call&)> answer);
  void start_task_request(const rpc::Message& m);
  void start_resource_request(const rpc::Message& m);
  json on_tasks_get(const json& params);
  json on_tasks_list(const json& params);
  json on_tasks_cancel(const json& params);
  std::optional<json> on_tasks_result(const json& params, const Call& call);
  std::shared_ptr<Task> find_task(const std::string& id) const;
  void reap_finished_threads();
  void send(const json& message) { writer_.write(message); }

  const ServerInfo info_;
  const std::vector<Tool> tools_;
  rpc::LineWriter writer_;

  std::atomic<bool> initialized_{false};
  std::atomic<LogLevel> client_level_;

  mutable std::mutex mutex_;
  std::condition_variable idle_cv_;
  std::string protocol_version_;
  bool shutting_down_ = false;
  std::map<std::string, std::shared_ptr<Call>> in_flight_;  // by rpc::id_key
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
    bool counts_for_idle = true;
  };
  std::vector<Worker> workers_;

  TaskSource* const task_source_;
  ResourceSource* const resource_source_;
  std::condition_variable task_changed_;
  std::map<std::string, std::shared_ptr<Task>> tasks_;  // announced ones, by task id
  int next_task_ = 1;
};

}  // namespace pvt::mcp
