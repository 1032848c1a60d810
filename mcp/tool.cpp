#include "tool.hpp"

namespace pvt::mcp {

json tool_result(const std::string& summary, json structured, std::vector<json> extra_content) {
  json content = json::array({{{"type", "text"}, {"text", summary}}});
  for (auto& c : extra_content) content.push_back(std::move(c));
  return {{"content", std::move(content)}, {"structuredContent", std::move(structured)}, {"isError", false}};
}

json tool_error(const std::string& sentence) {
  // No structuredContent: clients validate it against the outputSchema, which describes success only.
  return {{"content", json::array({{{"type", "text"}, {"text", sentence}}})}, {"isError", true}};
}

}  // namespace pvt::mcp
