// What this machine can encode with, found by opening real encode sessions (256x256, a few frames),
// not by reading FFmpeg's list: a built-in encoder says nothing about a driver or a free session.
// Used by `pvt caps`, the MCP get_capabilities tool and `pvt transcode --encoder auto`: one probe.
#pragma once

#include <string>
#include <vector>

namespace pvt::hw {

// How many sessions of one hardware encoder the probe tries to hold at once: consumer NVENC allows 8
// (older drivers 3 or 5); VAAPI and QSV have no fixed cap, and 8 is more than pvt would use per GPU.
inline constexpr int kSessionProbeCap = 8;

struct EncoderProbe {
  std::string backend;         // x264, x265, nvenc, vaapi, qsv, videotoolbox, pretend
  std::string codec;           // h264, hevc
  std::string ffmpeg_encoder;  // libx264, hevc_nvenc, ...
  bool hardware = false;
  bool usable = false;
  int sessions = 0;    // hardware: concurrent sessions that opened (up to kSessionProbeCap); CPU: 0
  std::string reason;  // why not usable (FFmpeg's text), or a note
};

// Every backend built into this platform, probed once per process (later calls return the same list).
const std::vector<EncoderProbe>& probe_encoders();

// The usable entry for backend+codec, or nullptr.
const EncoderProbe* find_usable(const std::vector<EncoderProbe>& probes, const std::string& backend,
                                const std::string& codec);

}  // namespace pvt::hw
