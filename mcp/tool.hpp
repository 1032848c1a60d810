// What the MCP session needs to know about a tool, and what a tool may ask of the request it serves.
// Tools see only this interface, never the session or the transport, so they can be tested and reused
// behind another transport unchanged.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pvt::mcp {

using nlohmann::json;

// One tools/call in flight. Handlers run on their own thread; everything here is thread-safe.
class RequestContext {
 public:
  virtual ~RequestContext() = default;
  // Set when the client sent notifications/cancelled for this request (or the server is shutting down):
  // the handler should stop its work soon; its result is not sent.
  virtual const std::atomic<bool>& cancel_flag() const = 0;
  bool cancelled() const { return cancel_flag().load(); }
  // notifications/progress, only when the request carried params._meta.progressToken; throttled to about
  // one a second and sent only when `progress` grew (the final one, progress == total, always goes).
  virtual void progress(double progress, std::optional<double> total, const std::string& message) = 0;
  // True when the client asked for a task (MCP tasks): the handler runs to the end, as with wait, while
  // the client polls the task.
  virtual bool is_task() const { return false; }
  // A tool whose work is a durable job names it once it is queued: the task then takes the job's id, so
  // tasks/get and tasks/list find it under the id every job tool uses, and after a server restart too.
  virtual void accepted(const std::string& job_id) { (void)job_id; }
};

struct Tool {
  std::string name;
  json definition;  // the tools/list entry: name, title, description, inputSchema, outputSchema, annotations
  // Returns a CallToolResult. Throw rpc::RpcError for protocol errors; any other exception becomes a result
  // with isError:true.
  std::function<json(const json& arguments, RequestContext& request)> handler;
  // MCP tasks: whether a tools/call may ask for a task (execution.taskSupport "optional"), and whether
  // the handler calls RequestContext::accepted with a job id before its long part.
  bool task_support = false;
  bool names_its_job = false;
};

// A successful result: one text summary for the model, the same data as structuredContent for programs.
json tool_result(const std::string& summary, json structured, std::vector<json> extra_content = {});
// A failure the model can correct: one sentence, isError:true.
json tool_error(const std::string& sentence);

// Thrown by argument checks and tool logic for tool_error results.
class ToolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pvt::mcp
