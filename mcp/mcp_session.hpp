// The MCP session: lifecycle (initialize, version negotiation, initialized), ping, logging/setLevel,
// tools/list and tools/call, progress and cancellation. It is driven by whole lines in and writes whole
// lines out through a sink, so the stdio transport, a future HTTP transport and the unit tests all drive
// the same object.
//
// Threads: handle_line() is called from one reader thread and never blocks on tool work. Each tools/call
// runs on its own thread, so a long call (a wait:true transcode, a long-poll, an analysis) never delays
// ping, other calls or notifications/cancelled. All output goes through one rpc::LineWriter.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "json_rpc.hpp"
#include "logging.hpp"
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
             LogLevel client_log_level = LogLevel::kInfo);
  ~McpSession();
  McpSession(const McpSession&) = delete;
  McpSession& operator=(const McpSession&) = delete;

  // One incoming line (without its newline). too_long: the transport dropped an oversized line.
  void handle_line(std::string_view line, bool too_long = false);

  // notifications/message, once initialized and when at or above the level the client asked for.
  void log(LogLevel level, const std::string& text);

  // Blocks until no tools/call is running (tests; shutdown).
  void wait_idle();
  // The same with a time limit; true when idle.
  bool wait_idle_for(std::chrono::milliseconds timeout);
  // Cancels every request in flight (their results are dropped) and joins their threads. Idempotent.
  void shutdown();

  std::string protocol_version() const;
  bool initialized() const { return initialized_.load(); }

 private:
  class Call;  // one tools/call in flight: its RequestContext

  void dispatch(const rpc::Message& m);
  void on_notification(const rpc::Message& m);
  json on_initialize(const json& params);
  json on_set_level(const json& params);
  json on_tools_list() const;
  void start_tool_call(const rpc::Message& m);
  void run_tool_call(const std::shared_ptr<Call>& call, const Tool& tool, const json& arguments);
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
  };
  std::vector<Worker> workers_;
};

}  // namespace pvt::mcp
