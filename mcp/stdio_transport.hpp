// The stdio transport: newline-delimited JSON-RPC on two file descriptors. Another transport (Streamable
// HTTP) would be a sibling of this file feeding the same McpSession.
#pragma once

#include <atomic>
#include <string_view>

#include "mcp_session.hpp"

namespace pvt::mcp {

// Feeds every line read from in_fd to the session until end of input or until `stop` is set (checked a
// few times a second, so a signal handler can end the loop). Returns true at end of input.
bool run_stdio_loop(int in_fd, McpSession& session, const std::atomic<bool>& stop);

// A sink that writes each line fully to out_fd (retrying short writes and EINTR). Write errors (the client
// went away) are ignored here: the read side then sees end of input and the server shuts down.
McpSession::LineSink fd_line_sink(int out_fd);

}  // namespace pvt::mcp
