// pvt's MCP tools. Each tools_*.cpp builds one tool (or a small group) over the engine; the session sees
// only the resulting Tool list.
#pragma once

#include <vector>

#include "job_registry.hpp"
#include "logging.hpp"
#include "output_sandbox.hpp"
#include "server_config.hpp"
#include "tool.hpp"

namespace pvt::mcp {

// What the tools share. Outlives the session that calls them.
struct ToolEnv {
  const ServerConfig& config;
  const OutputSandbox& sandbox;
  JobRegistry& jobs;
  Logger& log;
};

Tool make_analyze_tool(ToolEnv& env);
Tool make_transcode_tool(ToolEnv& env);
std::vector<Tool> make_job_tools(ToolEnv& env);  // get_transcode_status, cancel_transcode, list_transcodes
Tool make_capabilities_tool(ToolEnv& env);

// Every tool, in the order tools/list shows them.
std::vector<Tool> make_pvt_tools(ToolEnv& env);

// The `instructions` of the initialize result.
std::string server_instructions(const ServerConfig& config);

}  // namespace pvt::mcp
