// pvt's jobs as MCP resources: for every job of this server that succeeded, its summary
// (pvt://jobs/{job_id}/summary, JSON), its timeline picture (pvt://jobs/{job_id}/timeline, SVG, and
// pvt://jobs/{job_id}/timeline.png) and its output (the MP4/MKV/WebM file or the HLS playlist, as a
// file:// URI). resources/read also reads any other file of a job's output by its file:// URI (HLS
// segments), but never a file outside the output directory, and nothing over kMaxResourceBytes: a
// video belongs on disk, where its URI points, not in a JSON message.
#pragma once

#include <cstdint>

#include "resources.hpp"
#include "tools.hpp"

namespace pvt::mcp {

inline constexpr std::uintmax_t kMaxResourceBytes = 4u << 20;

class JobResources final : public ResourceSource {
 public:
  explicit JobResources(ToolEnv& env) : env_(env) {}
  nlohmann::json list(const nlohmann::json& params) override;
  nlohmann::json templates() override;
  nlohmann::json read(const std::string& uri) override;

 private:
  nlohmann::json read_report(const std::string& job_id, const std::string& what, const std::string& uri);
  nlohmann::json read_file(const std::string& uri);
  ToolEnv& env_;
};

}  // namespace pvt::mcp
