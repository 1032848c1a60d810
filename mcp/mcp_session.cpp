#include "mcp_session.hpp"

#include <algorithm>
#include <chrono>

#include "message_text.hpp"
#include "session_call.hpp"

namespace pvt::mcp {

using rpc::Message;
using rpc::RpcError;

std::string negotiate_protocol_version(const json& requested) {
  if (requested.is_string()) {
    const auto v = requested.get<std::string>();
    if (std::find(kSupportedProtocolVersions.begin(), kSupportedProtocolVersions.end(), v) !=
        kSupportedProtocolVersions.end())
      return v;
  }
  // Not one we speak: answer with ours; the client decides whether it can live with it.
  return kLatestProtocolVersion;
}

McpSession::McpSession(ServerInfo info, std::vector<Tool> tools, LineSink out, LogLevel client_log_level,
                       TaskSource* task_source, ResourceSource* resource_source)
    : info_(std::move(info)),
      tools_(std::move(tools)),
      writer_(std::move(out)),
      client_level_(client_log_level),
      task_source_(task_source),
      resource_source_(resource_source) {}

McpSession::~McpSession() {
  shutdown();
}

void McpSession::handle_line(std::string_view line, bool too_long) {
  if (too_long) {
    send(rpc::make_error(nullptr, rpc::kParseError, "Parse error: message too long"));
    return;
  }
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;  // blank lines carry nothing
  reap_finished_threads();
  const rpc::Parsed parsed = rpc::parse_line(line);
  if (parsed.error_reply) {
    send(*parsed.error_reply);
    return;
  }
  if (!parsed.message) return;
  const Message& m = *parsed.message;
  switch (m.kind) {
    case Message::Kind::kResponse:
      return;  // this server sends no requests, so there is nothing to match a response to
    case Message::Kind::kNotification:
      return on_notification(m);
    case Message::Kind::kRequest:
      return dispatch(m);
  }
}

void McpSession::dispatch(const Message& m) {
  if (m.method == "tools/call") return start_tool_call(m);
  if (m.method.rfind("tasks/", 0) == 0 && tasks_enabled()) return start_task_request(m);
  if (m.method.rfind("resources/", 0) == 0 && resource_source_) return start_resource_request(m);
  json result;
  try {
    if (m.method == "initialize") {
      result = on_initialize(m.params);
      send(rpc::make_result(m.id, std::move(result)));
      initialized_ = true;  // after the reply: no notification may precede it
      return;
    }
    if (m.method == "ping")
      result = json::object();
    else if (m.method == "logging/setLevel")
      result = on_set_level(m.params);
    else if (m.method == "tools/list")
      result = on_tools_list();
    else
      throw RpcError(rpc::kMethodNotFound, "Method not found: " + excerpt(m.method));
  } catch (const RpcError& e) {
    send(rpc::make_error(m.id, e.code(), e.what()));
    return;
  } catch (const std::exception& e) {
    send(rpc::make_error(m.id, rpc::kInternalError, std::string("Internal error: ") + e.what()));
    return;
  }
  send(rpc::make_result(m.id, std::move(result)));
}

void McpSession::on_notification(const Message& m) {
  if (m.method == "notifications/cancelled") {
    auto it = m.params.find("requestId");
    if (it == m.params.end()) return;
    std::lock_guard lock(mutex_);
    // Unknown or finished requests are ignored: the cancellation raced with the reply.
    if (auto call = in_flight_.find(rpc::id_key(*it)); call != in_flight_.end()) call->second->cancel();
    task_changed_.notify_all();  // a tasks/result waiting for its task gives up
  }
  // notifications/initialized and anything else: nothing to do.
}

json McpSession::on_initialize(const json& params) {
  auto v = params.find("protocolVersion");
  if (v == params.end() || !v->is_string())
    throw RpcError(rpc::kInvalidParams, "Invalid params: initialize needs protocolVersion (a string)");
  const std::string version = negotiate_protocol_version(*v);
  {
    std::lock_guard lock(mutex_);
    protocol_version_ = version;
  }
  json capabilities = {{"tools", {{"listChanged", false}}}, {"logging", json::object()}};
  if (resource_source_) capabilities["resources"] = {{"subscribe", false}, {"listChanged", false}};
  // Tasks are 2025-11-25's: a client speaking an older version sees the server as before.
  if (version == "2025-11-25")
    capabilities["tasks"] = {{"list", json::object()},
                             {"cancel", json::object()},
                             {"requests", {{"tools", {{"call", json::object()}}}}}};
  json result = {{"protocolVersion", version},
                 {"capabilities", std::move(capabilities)},
                 {"serverInfo", {{"name", info_.name}, {"version", info_.version}}}};
  if (!info_.instructions.empty()) result["instructions"] = info_.instructions;
  return result;
}

json McpSession::on_set_level(const json& params) {
  auto it = params.find("level");
  const auto level =
      it != params.end() && it->is_string() ? parse_log_level(it->get<std::string>()) : std::nullopt;
  if (!level)
    throw RpcError(
        rpc::kInvalidParams,
        "Invalid params: level must be one of debug, info, notice, warning, error, critical, alert, "
        "emergency");
  client_level_ = *level;
  return json::object();
}

json McpSession::on_tools_list() const {
  const bool tasks = tasks_enabled();
  json list = json::array();
  for (const auto& t : tools_) {
    json d = t.definition;
    if (tasks) d["execution"] = {{"taskSupport", t.task_support ? "optional" : "forbidden"}};
    list.push_back(std::move(d));
  }
  return {{"tools", std::move(list)}};
}

void McpSession::start_tool_call(const Message& m) {
  auto name = m.params.find("name");
  if (name == m.params.end() || !name->is_string()) {
    send(rpc::make_error(m.id, rpc::kInvalidParams, "Invalid params: tools/call needs name (a string)"));
    return;
  }
  const auto tool =
      std::find_if(tools_.begin(), tools_.end(), [&](const Tool& t) { return t.name == *name; });
  if (tool == tools_.end()) {
    send(rpc::make_error(m.id, rpc::kInvalidParams,
                         "Unknown tool: " + excerpt(name->get_ref<const std::string&>())));
    return;
  }
  json arguments = m.params.value("arguments", json::object());
  if (arguments.is_null()) arguments = json::object();
  if (!arguments.is_object()) {
    send(rpc::make_error(m.id, rpc::kInvalidParams, "Invalid params: arguments must be an object"));
    return;
  }
  json token = nullptr;
  if (auto meta = m.params.find("_meta"); meta != m.params.end() && meta->is_object())
    if (auto t = meta->find("progressToken"); t != meta->end() && (t->is_string() || t->is_number()))
      token = *t;

  const auto task = m.params.find("task");
  const bool as_task = task != m.params.end() && task->is_object() && tasks_enabled();
  if (as_task && !tool->task_support) {
    send(rpc::make_error(m.id, rpc::kMethodNotFound,
                         "Method not found: " + tool->name + " cannot run as a task (call it without task)"));
    return;
  }
  auto call = std::make_shared<Call>(*this, m.id, std::move(token), as_task);
  if (as_task) return start_task_call(call, *tool, std::move(arguments), *task);
  spawn(call, [this, call, &tool = *tool, arguments = std::move(arguments)] {
    run_tool_call(call, tool, arguments);
  });
}

bool McpSession::spawn(const std::shared_ptr<Call>& call, std::function<void()> body, bool counts_for_idle) {
  std::lock_guard lock(mutex_);
  if (shutting_down_) {
    send(rpc::make_error(call->id(), rpc::kInternalError, "Internal error: the server is shutting down"));
    return false;
  }
  if (!in_flight_.emplace(rpc::id_key(call->id()), call).second) {
    send(rpc::make_error(call->id(), rpc::kInvalidRequest,
                         "Invalid Request: id " + json_excerpt(call->id()) + " is already in use"));
    return false;
  }
  auto finished = std::make_shared<std::atomic<bool>>(false);
  workers_.push_back({std::thread([this, body = std::move(body), finished] {
                        body();
                        std::lock_guard done_lock(mutex_);
                        *finished = true;
                        idle_cv_.notify_all();
                      }),
                      finished, counts_for_idle});
  return true;
}

json McpSession::call_tool(const Call& call, const Tool& tool, const json& arguments,
                           RequestContext& request) {
  try {
    return rpc::make_result(call.id(), tool.handler(arguments, request));
  } catch (const RpcError& e) {
    return rpc::make_error(call.id(), e.code(), e.what());
  } catch (const ToolError& e) {
    return rpc::make_result(call.id(), tool_error(e.what()));
  } catch (const std::exception& e) {
    // A tool that fails unexpectedly is still a tool result: the model reads it, the session lives on.
    return rpc::make_result(call.id(), tool_error(e.what()));
  }
}

void McpSession::start_async_request(const Message& m,
                                     std::function<std::optional<json>(const Call&)> answer) {
  auto call = std::make_shared<Call>(*this, m.id, nullptr);
  spawn(call, [this, call, answer = std::move(answer)] {
    json reply;
    try {
      if (auto result = answer(*call)) reply = rpc::make_result(call->id(), std::move(*result));
    } catch (const RpcError& e) {
      reply = rpc::make_error(call->id(), e.code(), e.what());
    } catch (const std::exception& e) {
      reply = rpc::make_error(call->id(), rpc::kInternalError, std::string("Internal error: ") + e.what());
    }
    {
      std::lock_guard lock(mutex_);
      in_flight_.erase(rpc::id_key(call->id()));
    }
    if (!reply.is_null() && !call->cancelled()) send(reply);
  });
}

// Reading a resource touches the disk or draws a picture: off the reader thread.
void McpSession::start_resource_request(const Message& m) {
  start_async_request(m, [this, method = m.method, params = m.params](const Call&) -> std::optional<json> {
    if (method == "resources/list") return resource_source_->list(params);
    if (method == "resources/templates/list") return resource_source_->templates();
    if (method == "resources/read") {
      const auto uri = params.find("uri");
      if (uri == params.end() || !uri->is_string())
        throw RpcError(rpc::kInvalidParams, "Invalid params: resources/read needs uri (a string)");
      return resource_source_->read(uri->get<std::string>());
    }
    throw RpcError(rpc::kMethodNotFound, "Method not found: " + excerpt(method));
  });
}

void McpSession::run_tool_call(const std::shared_ptr<Call>& call, const Tool& tool, const json& arguments) {
  json reply = call_tool(*call, tool, arguments, *call);
  {
    std::lock_guard lock(mutex_);
    in_flight_.erase(rpc::id_key(call->id()));
  }
  // A cancelled request gets no reply at all (MCP: the receiver should not respond).
  if (!call->cancelled()) send(reply);
}

void McpSession::reap_finished_threads() {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(mutex_);
    auto keep =
        std::partition(workers_.begin(), workers_.end(), [](const Worker& w) { return !*w.finished; });
    for (auto it = keep; it != workers_.end(); ++it) done.push_back(std::move(it->thread));
    workers_.erase(keep, workers_.end());
  }
  for (auto& t : done) t.join();  // each is past its last statement
}

void McpSession::wait_idle() {
  while (!wait_idle_for(std::chrono::hours(1))) {
  }
}

bool McpSession::wait_idle_for(std::chrono::milliseconds timeout) {
  bool idle;
  {
    std::unique_lock lock(mutex_);
    idle = idle_cv_.wait_for(lock, timeout, [this] {
      return std::all_of(workers_.begin(), workers_.end(), [this](const Worker& w) {
        return w.finished->load() || (!w.counts_for_idle && !shutting_down_);
      });
    });
  }
  reap_finished_threads();
  return idle;
}

void McpSession::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [key, call] : in_flight_) call->cancel();
    for (auto& [id, task] : tasks_) task->call->cancel();
  }
  task_changed_.notify_all();
  wait_idle();
}

void McpSession::log(LogLevel level, const std::string& text) {
  if (!initialized_ || level < client_level_.load()) return;
  send(rpc::make_notification("notifications/message",
                              {{"level", log_level_name(level)}, {"logger", "pvt"}, {"data", text}}));
}

std::string McpSession::protocol_version() const {
  std::lock_guard lock(mutex_);
  return protocol_version_;
}

}  // namespace pvt::mcp
