// What this machine offers pvt: cores and memory (as the engine sees them), the encoders (the same
// probe as `pvt caps` and `--encoder auto`: real sessions opened), and whether FFmpeg can open a device
// of each hardware type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pvt::mcp {

struct FeatureStatus {
  std::string name;  // encoder name or hardware device type
  bool available = false;
  std::string reason;  // why not (FFmpeg's text where FFmpeg said no); empty when available
  std::string codec;   // encoders: h264 or hevc
  int sessions = 0;    // encoders: concurrent hardware sessions (0 for the CPU encoders)
  bool hardware = false;
};

struct MachineCapabilities {
  int cores = 0;
  std::int64_t memory_bytes = 0;
  std::vector<FeatureStatus> encoders;
  std::vector<FeatureStatus> hardware;
};

// Device probes are done once per process (they can take a moment and do not change); cores and
// memory are read on every call.
MachineCapabilities probe_capabilities();

// One hardware type ("cuda", "vaapi", "qsv", "vulkan", "videotoolbox").
FeatureStatus probe_hardware(const std::string& type);

}  // namespace pvt::mcp
