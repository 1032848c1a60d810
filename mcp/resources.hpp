// MCP resources: what a client can list and read besides calling tools. The session answers
// resources/list, resources/templates/list and resources/read through a ResourceSource; pvt's is its
// jobs' outputs and reports (job_resources.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace pvt::mcp {

class ResourceSource {
 public:
  virtual ~ResourceSource() = default;
  // {resources: [...]} (with nextCursor when there are more). Throws rpc::RpcError for a bad cursor.
  virtual nlohmann::json list(const nlohmann::json& params) = 0;
  virtual nlohmann::json templates() = 0;
  // {contents: [...]}. Throws rpc::RpcError: -32002 for an unknown resource, invalid params otherwise.
  virtual nlohmann::json read(const std::string& uri) = 0;
};

inline constexpr int kResourceNotFound = -32002;

// RFC 4648 base64, for blobs and image content (FFmpeg's av_base64_encode underneath).
std::string base64(const void* data, std::size_t size);

}  // namespace pvt::mcp
