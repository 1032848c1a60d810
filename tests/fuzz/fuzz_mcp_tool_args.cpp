// Each MCP tool's argument handling (mcp/tool_args.*, the tools' own checks, the sandbox and input
// resolution behind them) with arbitrary JSON arguments, called directly as the session would on its
// call thread. The first byte picks the tool; the rest is the arguments' JSON text.
//
// A handler must return a CallToolResult (content + isError) or throw ToolError (a sentence for the
// model) or RpcError; any other exception means an argument slipped past the checks and the model gets
// an internal message instead of a correctable one. Every job a call submits must write inside the
// sandbox, physically (symlinks resolved), and nothing may appear outside it.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>

#include "capabilities.hpp"
#include "json_rpc.hpp"
#include "mcp_fixture.hpp"
#include "tool_args.hpp"

namespace mcp = pvt::mcp;
using nlohmann::json;

namespace {

class Request : public mcp::RequestContext {
 public:
  const std::atomic<bool>& cancel_flag() const override { return cancel_; }
  void progress(double, std::optional<double>, const std::string&) override {}

 private:
  std::atomic<bool> cancel_{false};
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pvt::fuzz::hide_gpus();
  __lsan::ScopedDisabler no_leak_check;  // see fuzz_mcp_session.cpp
  (void)mcp::probe_capabilities();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pvt::fuzz::McpFixture fixture;
  if (size == 0) return 0;
  const json arguments = json::parse(data + 1, data + size, nullptr, false);
  if (arguments.is_discarded()) return 0;

  {
    mcp::Logger logger(mcp::LogLevel::kEmergency);
    mcp::JobRegistry jobs(fixture.config().max_concurrent_jobs, pvt::fuzz::McpFixture::runner(), &logger);
    mcp::ToolEnv env{fixture.config(), fixture.sandbox(), jobs, logger};
    const std::vector<mcp::Tool> tools = mcp::make_pvt_tools(env);
    const mcp::Tool& tool = tools[data[0] % tools.size()];
    // A job to find for the job tools ("job-1"), when the first byte asks for one.
    if (data[0] & 0x80) {
      pvt::TranscodeOptions o;
      o.input = (fixture.root() / "clip.mp4").string();
      o.output = (fixture.root() / "clip").string();
      jobs.submit(o, o.output + "/index.m3u8", "hls");
    }
    Request request;
    try {
      // The session only passes objects (anything else is -32602 before a tool sees it).
      const json result = tool.handler(arguments.is_object() ? arguments : json::object(), request);
      PVT_FUZZ_CHECK(result.contains("content") && result["content"].is_array() && !result["content"].empty(),
                     "a tool result without content");
      PVT_FUZZ_CHECK(result.contains("isError") && result["isError"].is_boolean(),
                     "a tool result without isError");
    } catch (const mcp::ToolError&) {
      // A sentence the model can act on.
    } catch (const mcp::rpc::RpcError&) {
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: unexpected %s\n", tool.name.c_str(), e.what());
      PVT_FUZZ_CHECK(false, "a tool failed with an exception other than ToolError");
    }
    for (const auto& job : jobs.list()) {
      PVT_FUZZ_CHECK(fixture.sandbox().contains(job.output), "a job writes outside the sandbox (lexically)");
      PVT_FUZZ_CHECK(fixture.physically_inside(job.output),
                     "a job writes outside the sandbox (through a symlink)");
    }
    jobs.shutdown();
  }
  fixture.check_and_reset();
  return 0;
}
