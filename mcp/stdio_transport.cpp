#include "stdio_transport.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace pvt::mcp {

bool run_stdio_loop(int in_fd, McpSession& session, const std::atomic<bool>& stop) {
  rpc::LineSplitter splitter;
  auto on_line = [&](std::string_view line, bool too_long) { session.handle_line(line, too_long); };
  char buffer[65536];
  while (!stop) {
    // poll with a timeout instead of a blocking read: a signal may land on any thread, and this way the
    // loop notices the stop flag without relying on EINTR reaching this one.
    pollfd p{in_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 200);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(in_fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (n == 0) {
      splitter.finish(on_line);
      return true;
    }
    splitter.feed(std::string_view(buffer, static_cast<std::size_t>(n)), on_line);
  }
  return !stop;
}

McpSession::LineSink fd_line_sink(int out_fd) {
  return [out_fd](std::string_view line) {
    while (!line.empty()) {
      const ssize_t n = ::write(out_fd, line.data(), line.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return;
      }
      line.remove_prefix(static_cast<std::size_t>(n));
    }
  };
}

}  // namespace pvt::mcp
