#include "json_rpc.hpp"

#include <algorithm>

#include "message_text.hpp"

namespace pvt::mcp::rpc {

namespace {

// MCP narrows JSON-RPC ids to strings and integers (never null).
bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer();
}

json usable_id(const json& object) {
  auto it = object.find("id");
  return it != object.end() && valid_id(*it) ? *it : json(nullptr);
}

Parsed reply(const json& id, int code, const std::string& message) {
  return {std::nullopt, make_error(id, code, message)};
}

// No message of this protocol nests deeper than a handful of levels. Deeper input ("[[[[..." 100000
// times) would make the parser build and then free a tower of nested values, hundreds of microseconds
// per kilobyte, so it is refused after one cheap scan that stops at the first level too deep.
constexpr int kMaxNesting = 64;

bool nests_deeper_than(std::string_view text, int max) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

Parsed parse_line(std::string_view line) {
  if (nests_deeper_than(line, kMaxNesting))
    return reply(nullptr, kParseError,
                 "Parse error: nested deeper than " + std::to_string(kMaxNesting) + " levels");
  json j;
  try {
    j = json::parse(line.begin(), line.end());
  } catch (const json::exception& e) {
    // Not only parse_error: a number too large for a double (1e400) is an out_of_range thrown by the
    // parser, and would otherwise end the server. The id of an unparsable message is unknowable, so the
    // reply carries id null.
    return reply(nullptr, kParseError, "Parse error: " + excerpt(e.what(), 200));
  }
  if (j.is_array()) return reply(nullptr, kInvalidRequest, "Invalid Request: batching is not supported");
  if (!j.is_object())
    return reply(nullptr, kInvalidRequest, "Invalid Request: a message must be a JSON object");

  const json id = usable_id(j);
  const bool has_id = j.contains("id");
  auto jv = j.find("jsonrpc");
  if (jv == j.end() || *jv != "2.0")
    return reply(id, kInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"");
  if (has_id && !valid_id(j["id"]))
    return reply(nullptr, kInvalidRequest, "Invalid Request: id must be a string or an integer");

  Message m;
  m.id = id;
  auto method = j.find("method");
  if (method == j.end()) {
    if (has_id && (j.contains("result") || j.contains("error"))) {
      m.kind = Message::Kind::kResponse;
      return {m, std::nullopt};
    }
    if (!has_id) return {};  // nothing to answer and nothing to do
    return reply(id, kInvalidRequest, "Invalid Request: no method");
  }
  if (!method->is_string()) {
    if (!has_id) return {};
    return reply(id, kInvalidRequest, "Invalid Request: method must be a string");
  }
  m.method = method->get<std::string>();
  m.kind = has_id ? Message::Kind::kRequest : Message::Kind::kNotification;
  m.params = json::object();
  if (auto p = j.find("params"); p != j.end() && !p->is_null()) {
    if (p->is_object()) {
      m.params = *p;
    } else if (m.kind == Message::Kind::kRequest) {
      // An array is a well-formed request whose params this server cannot take; anything else is not a
      // well-formed request at all.
      return reply(id, p->is_array() ? kInvalidParams : kInvalidRequest,
                   p->is_array() ? "Invalid params: params must be an object"
                                 : "Invalid Request: params must be an object");
    } else {
      return {};
    }
  }
  return {m, std::nullopt};
}

json make_result(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json make_error(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

json make_notification(const std::string& method, json params) {
  return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

void LineWriter::write(const json& message) {
  // Invalid UTF-8 (e.g. from a file name) is replaced rather than thrown: a reply must always go out.
  std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  sink_(line);
}

}  // namespace pvt::mcp::rpc
