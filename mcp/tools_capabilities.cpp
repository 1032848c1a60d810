// get_capabilities: what this machine offers and the server's defaults, so the model can pick settings.
#include "capabilities.hpp"
#include "tool_args.hpp"
#include "tools.hpp"

namespace pvt::mcp {

namespace {

json features_json(const std::vector<FeatureStatus>& list, const char* key) {
  json out = json::array();
  for (const auto& f : list)
    out.push_back({{key, f.name},
                   {"available", f.available},
                   {"reason", f.available ? json(nullptr) : json(f.reason)}});
  return out;
}

json encoders_json(const std::vector<FeatureStatus>& list) {
  json out = json::array();
  for (const auto& f : list)
    out.push_back({{"name", f.name},
                   {"codec", f.codec},
                   {"hardware", f.hardware},
                   {"sessions", f.hardware ? json(f.sessions) : json(nullptr)},
                   {"available", f.available},
                   {"reason", f.available ? json(nullptr) : json(f.reason)}});
  return out;
}

json feature_schema(const char* key) {
  return {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties",
             {{key, {{"type", "string"}}},
              {"available", {{"type", "boolean"}}},
              {"reason", {{"type", {"string", "null"}}}}}},
            {"required", {key, "available", "reason"}}}}};
}

json encoder_schema() {
  json s = feature_schema("name");
  s["items"]["properties"]["codec"] = {{"type", "string"}};
  s["items"]["properties"]["hardware"] = {{"type", "boolean"}};
  s["items"]["properties"]["sessions"] = {{"type", {"integer", "null"}}};
  return s;
}

json defaults_json(const ServerConfig& c) {
  return {{"output_dir", c.output_dir},
          {"max_workers", c.max_workers},
          {"segment_duration", c.segment_duration},
          {"lookahead", c.lookahead},
          {"encoder", c.encoder},
          {"max_concurrent_jobs", c.max_concurrent_jobs},
          {"log_level", log_level_name(c.log_level)}};
}

json capabilities(ToolEnv& env, const json& arguments) {
  const ToolArgs args(arguments, {});
  const MachineCapabilities caps = probe_capabilities();
  json structured = {{"cores", caps.cores},
                     {"memory_bytes", caps.memory_bytes},
                     {"encoders", encoders_json(caps.encoders)},
                     {"hardware", features_json(caps.hardware, "type")},
                     {"defaults", defaults_json(env.config)}};
  std::string hw;
  for (const auto& h : caps.hardware)
    if (h.available) hw += (hw.empty() ? "" : ", ") + h.name;
  const bool x264 = !caps.encoders.empty() && caps.encoders[0].available;
  std::string hw_enc;
  for (const auto& e : caps.encoders)
    if (e.hardware && e.available)
      hw_enc += (hw_enc.empty() ? "" : ", ") + e.name + "/" + e.codec + " x" + std::to_string(e.sessions);
  const std::string text = std::to_string(caps.cores) + " cores, " +
                           std::to_string(caps.memory_bytes / (1 << 20)) + " MiB memory available; x264 " +
                           (x264 ? "available" : "NOT available") +
                           "; hardware devices that open: " + (hw.empty() ? "none" : hw) +
                           "; hardware encoders: " + (hw_enc.empty() ? "none" : hw_enc) + "; outputs under " +
                           env.config.output_dir + ".";
  return tool_result(text, std::move(structured));
}

}  // namespace

Tool make_capabilities_tool(ToolEnv& env) {
  Tool t;
  t.name = "get_capabilities";
  t.definition = {
      {"name", t.name},
      {"title", "Machine capabilities"},
      {"description",
       "Cores and free memory pvt may use, the encoders it can run (x264, x265, and NVENC/VAAPI/QSV when a "
       "test session opens, with the concurrent sessions allowed), which hardware video devices "
       "FFmpeg "
       "can open (CUDA, VAAPI, QSV, Vulkan, VideoToolbox; with the reason when not), and the server's "
       "defaults."},
      {"inputSchema", {{"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}}},
      {"outputSchema",
       {{"type", "object"},
        {"properties",
         {{"cores", {{"type", "integer"}}},
          {"memory_bytes", {{"type", "integer"}}},
          {"encoders", encoder_schema()},
          {"hardware", feature_schema("type")},
          {"defaults", {{"type", "object"}}}}},
        {"required", {"cores", "memory_bytes", "encoders", "hardware", "defaults"}}}},
      {"annotations",
       {{"title", "Machine capabilities"},
        {"readOnlyHint", true},
        {"destructiveHint", false},
        {"idempotentHint", true},
        {"openWorldHint", false}}}};
  t.handler = [&env](const json& arguments, RequestContext&) { return capabilities(env, arguments); };
  return t;
}

}  // namespace pvt::mcp
