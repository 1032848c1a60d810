#include "mcp_session.hpp"

#include <algorithm>
#include <chrono>

#include "message_text.hpp"

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

// The RequestContext of one tools/call: its cancel flag and its progress stream.
class McpSession::Call : public RequestContext {
 public:
  Call(McpSession& session, json id, json progress_token)
      : session_(session), id_(std::move(id)), token_(std::move(progress_token)) {}

  const json& id() const { return id_; }
  const std::atomic<bool>& cancel_flag() const override { return cancel_; }
  void cancel() { cancel_ = true; }

  void progress(double value, std::optional<double> total, const std::string& message) override {
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
  std::atomic<bool> cancel_{false};
  std::mutex mutex_;
  bool sent_any_ = false;
  double last_value_ = 0;
  std::chrono::steady_clock::time_point last_sent_;
};

McpSession::McpSession(ServerInfo info, std::vector<Tool> tools, LineSink out, LogLevel client_log_level)
    : info_(std::move(info)),
      tools_(std::move(tools)),
      writer_(std::move(out)),
      client_level_(client_log_level) {}

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
  json result = {{"protocolVersion", version},
                 {"capabilities", {{"tools", {{"listChanged", false}}}, {"logging", json::object()}}},
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
  json list = json::array();
  for (const auto& t : tools_) list.push_back(t.definition);
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

  auto call = std::make_shared<Call>(*this, m.id, std::move(token));
  std::lock_guard lock(mutex_);
  if (shutting_down_) {
    send(rpc::make_error(m.id, rpc::kInternalError, "Internal error: the server is shutting down"));
    return;
  }
  if (!in_flight_.emplace(rpc::id_key(m.id), call).second) {
    send(rpc::make_error(m.id, rpc::kInvalidRequest,
                         "Invalid Request: id " + json_excerpt(m.id) + " is already in use"));
    return;
  }
  auto finished = std::make_shared<std::atomic<bool>>(false);
  workers_.push_back({std::thread([this, call, &tool = *tool, arguments = std::move(arguments), finished] {
                        run_tool_call(call, tool, arguments);
                        std::lock_guard done_lock(mutex_);
                        *finished = true;
                        idle_cv_.notify_all();
                      }),
                      finished});
}

void McpSession::run_tool_call(const std::shared_ptr<Call>& call, const Tool& tool, const json& arguments) {
  json reply;
  try {
    reply = rpc::make_result(call->id(), tool.handler(arguments, *call));
  } catch (const RpcError& e) {
    reply = rpc::make_error(call->id(), e.code(), e.what());
  } catch (const ToolError& e) {
    reply = rpc::make_result(call->id(), tool_error(e.what()));
  } catch (const std::exception& e) {
    // A tool that fails unexpectedly is still a tool result: the model reads it, the session lives on.
    reply = rpc::make_result(call->id(), tool_error(e.what()));
  }
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
      return std::all_of(workers_.begin(), workers_.end(),
                         [](const Worker& w) { return w.finished->load(); });
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
  }
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
