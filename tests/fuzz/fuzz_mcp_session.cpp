// pvt-mcp as a client sees it: arbitrary bytes on stdin, read by the server's own stdio loop
// (run_stdio_loop, from a memfd) into an McpSession with the real tool set, answered through the real
// fd sink (into another memfd). Tools that would start work run against a temporary sandbox
// (mcp_fixture.hpp) whose engine is a stand-in, so no transcode ever runs; analyze_video analyses the
// fixture's 6-frame clip for real.
//
// After each input (the session shut down as at end of input): every output line is one well-formed
// JSON-RPC message, and nothing was created outside the sandbox. An exception out of the loop, a
// crash, a hang (libFuzzer -timeout) or a sanitizer report is a bug.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "capabilities.hpp"
#include "mcp_fixture.hpp"
#include "mcp_session.hpp"
#include "stdio_transport.hpp"

namespace mcp = pvt::mcp;
using nlohmann::json;

namespace {

int memfd(const char* name) {
  const int fd = memfd_create(name, MFD_CLOEXEC);
  PVT_FUZZ_CHECK(fd >= 0, "memfd_create failed");
  return fd;
}

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

void check_output(const std::string& out) {
  PVT_FUZZ_CHECK(out.empty() || out.back() == '\n', "output does not end with a newline");
  for (std::size_t at = 0; at < out.size();) {
    const std::size_t nl = out.find('\n', at);
    const std::string_view line(out.data() + at, nl - at);
    at = nl + 1;
    const json j = json::parse(line, nullptr, false);
    PVT_FUZZ_CHECK(j.is_object(), "an output line is not a JSON object");
    PVT_FUZZ_CHECK(j.value("jsonrpc", "") == "2.0", "an output line without jsonrpc 2.0");
    if (j.contains("method")) {
      PVT_FUZZ_CHECK(!j.contains("id") && j["method"].is_string(), "a notification with an id");
      PVT_FUZZ_CHECK(j["params"].is_object(), "a notification without params");
    } else {
      PVT_FUZZ_CHECK(j.contains("id"), "a reply without an id");
      PVT_FUZZ_CHECK(j.contains("result") != j.contains("error"), "a reply needs result xor error");
      if (j.contains("result") && j["result"].contains("isError")) {
        PVT_FUZZ_CHECK(j["result"]["isError"].is_boolean() && j["result"]["content"].is_array(),
                       "a tool result without content and isError");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pvt::fuzz::hide_gpus();
  // The capability probe runs once per process (real encoder sessions, hardware device probes); do it
  // here so no single input pays for it, and keep what the drivers never free out of the leak report.
  __lsan::ScopedDisabler no_leak_check;
  (void)mcp::probe_capabilities();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pvt::fuzz::McpFixture fixture;
  static const int in_fd = memfd("pvt-fuzz-stdin");
  static const int out_fd = memfd("pvt-fuzz-stdout");
  PVT_FUZZ_CHECK(ftruncate(in_fd, 0) == 0 && ftruncate(out_fd, 0) == 0, "ftruncate failed");
  lseek(in_fd, 0, SEEK_SET);
  lseek(out_fd, 0, SEEK_SET);
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = write(in_fd, data + done, size - done);
    PVT_FUZZ_CHECK(n > 0, "write to the memfd failed");
    done += static_cast<std::size_t>(n);
  }
  lseek(in_fd, 0, SEEK_SET);

  {
    // As mcp/main.cpp wires it, with the stand-in engine and a quiet stderr.
    mcp::Logger logger(mcp::LogLevel::kEmergency);
    mcp::JobRegistry jobs(fixture.config().max_concurrent_jobs, pvt::fuzz::McpFixture::runner(), &logger);
    mcp::ToolEnv env{fixture.config(), fixture.sandbox(), jobs, logger};
    mcp::McpSession session({"pvt", "0.1.0", mcp::server_instructions(fixture.config())},
                            mcp::make_pvt_tools(env), mcp::fd_line_sink(out_fd), fixture.config().log_level);
    logger.set_forward(
        [&session](mcp::LogLevel level, const std::string& text) { session.log(level, text); });
    const std::atomic<bool> stop{false};
    PVT_FUZZ_CHECK(mcp::run_stdio_loop(in_fd, session, stop), "the stdio loop did not reach end of input");
    session.wait_idle();
    session.shutdown();
    jobs.shutdown();
    logger.set_forward(nullptr);
  }

  check_output(read_all(out_fd));
  fixture.check_and_reset();
  return 0;
}
