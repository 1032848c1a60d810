#include "tools.hpp"

namespace pvt::mcp {

std::vector<Tool> make_pvt_tools(ToolEnv& env) {
  std::vector<Tool> tools;
  tools.push_back(make_analyze_tool(env));
  tools.push_back(make_transcode_tool(env));
  for (auto& t : make_job_tools(env)) tools.push_back(std::move(t));
  tools.push_back(make_capabilities_tool(env));
  return tools;
}

std::string server_instructions(const ServerConfig& config) {
  return "pvt transcodes videos in parallel segments (x264) to HLS or MP4. Outputs go under " +
         config.output_dir +
         " (relative paths are taken from there). transcode_video answers at once with a job_id; poll "
         "get_transcode_status with wait_seconds (up to 30) until the state is succeeded, failed or "
         "cancelled. A job stopped before the end (the server was stopped or killed) is listed by "
         "list_transcodes as interrupted with a resume_job_id; transcode_video with that resume_job_id "
         "finishes it, reusing its finished segments. "
         "analyze_video reports streams, scene cuts and the segment plan without writing anything.";
}

}  // namespace pvt::mcp
