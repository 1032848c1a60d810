// JSON-RPC 2.0 as MCP uses it: one message per line, no batching. This file knows nothing of MCP or of
// pvt: it turns a line into a classified message (or the error reply it deserves), builds replies, and
// serialises outgoing lines so that messages written from several threads never interleave.
#pragma once

#include <cstring>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace pvt::mcp::rpc {

using nlohmann::json;

// The standard JSON-RPC error codes.
enum ErrorCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
};

// Thrown by method handlers to answer with a JSON-RPC error instead of a result.
class RpcError : public std::runtime_error {
 public:
  RpcError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

struct Message {
  enum class Kind { kRequest, kNotification, kResponse };
  Kind kind = Kind::kRequest;
  json id;  // requests and responses: a string or an integer
  std::string method;
  json params;  // an object (empty when absent)
};

// Either a message to dispatch or the error reply a malformed line deserves (sent as is). Responses to
// notifications are never sent, so a malformed notification with a valid method yields nothing at all.
struct Parsed {
  std::optional<Message> message;
  std::optional<json> error_reply;
};

Parsed parse_line(std::string_view line);

json make_result(const json& id, json result);
json make_error(const json& id, int code, const std::string& message);
json make_notification(const std::string& method, json params);

// A stable key for a request id ("1" and 1 are different ids).
inline std::string id_key(const json& id) {
  return id.dump();
}

// Writes one JSON value per line through `sink`, under a mutex: the one place where outgoing bytes are
// produced, whatever thread the message comes from.
class LineWriter {
 public:
  using Sink = std::function<void(std::string_view line_with_newline)>;
  explicit LineWriter(Sink sink) : sink_(std::move(sink)) {}
  void write(const json& message);

 private:
  std::mutex mutex_;
  Sink sink_;
};

// The longest message the server reads. Its requests carry paths, numbers and short names, so 1 MiB is
// far more than any real client sends; a longer line is dropped unread (no JSON parse), which keeps a
// client that floods the pipe from spending the CPU a running transcode needs.
inline constexpr std::size_t kMaxMessageBytes = 1u << 20;

// Splits a byte stream into lines (LF or CRLF), for transports that read in chunks. A line longer than
// max_line is not kept in memory: its bytes are dropped and it is reported once, as too long, at its end.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = kMaxMessageBytes) : max_line_(max_line) {}

  // on_line(std::string_view line, bool too_long). Scans with memchr: most bytes are copied in blocks.
  template <typename Fn>
  void feed(std::string_view bytes, Fn&& on_line) {
    while (!bytes.empty()) {
      const void* nl = std::memchr(bytes.data(), '\n', bytes.size());
      const std::size_t take =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - bytes.data()) : bytes.size();
      if (!too_long_) {
        if (take > max_line_ - buffer_.size()) {
          too_long_ = true;
          buffer_.clear();
          buffer_.shrink_to_fit();
        } else {
          buffer_.append(bytes.data(), take);
        }
      }
      if (!nl) return;
      if (!buffer_.empty() && buffer_.back() == '\r') buffer_.pop_back();
      on_line(std::string_view(buffer_), too_long_);
      buffer_.clear();
      too_long_ = false;
      bytes.remove_prefix(take + 1);
    }
  }

  // At end of input: the unterminated last line, if any, as if it had ended with a newline.
  template <typename Fn>
  void finish(Fn&& on_line) {
    if (!buffer_.empty() || too_long_) feed("\n", on_line);
  }

 private:
  std::size_t max_line_;
  std::string buffer_;
  bool too_long_ = false;
};

}  // namespace pvt::mcp::rpc
