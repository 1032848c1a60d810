#include "encoder_choice.hpp"

#include <algorithm>

#include "encoder_probe.hpp"
#include "error.hpp"
#include "video_encoder.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace pvt {

namespace {

bool known_encoder(const std::string& e) {
  return e == "auto" || e == "x264" || e == "x265" || e == "nvenc" || e == "vaapi" || e == "qsv" ||
         e == "videotoolbox" || e == "pretend";
}

std::string available_list(const std::vector<hw::EncoderProbe>& probes, const std::string& codec) {
  std::string list;
  for (const auto& p : probes)
    if (p.usable && p.codec == codec) list += (list.empty() ? "" : ", ") + p.backend;
  return list.empty() ? "none" : list;
}

}  // namespace

EncoderChoice cluster_encoders(const std::string& encoder, const std::string& codec) {
  if (encoder == "auto")
    throw Error(
        ErrorCode::kUsage,
        "--executor slurm: name the encoder (x264, nvenc, vaapi, qsv): auto would probe this machine, "
        "not the cluster's nodes");
  if (encoder == "x264" || encoder == "x265") return choose_encoders(encoder, codec, 0);
  if (!known_encoder(encoder))
    throw Error(ErrorCode::kUsage,
                "--encoder must be x264, nvenc, vaapi, qsv or videotoolbox, not '" + encoder + "'");
  if (codec != "h264" && codec != "hevc") throw Error(ErrorCode::kUsage, "--codec must be h264 or hevc");
  EncoderChoice c;
  c.slots.cpu_backend = hw::cpu_backend_for(codec);
  // Not probed here: the nodes have what they have. A task whose session fails there falls back.
  c.slots.hardware.push_back({encoder, 1});
  c.slots.cpu_fallback_only = true;
  c.description = encoder + " on the nodes, " + c.slots.cpu_backend + " (fallback only)";
  return c;
}

EncoderChoice choose_encoders(const std::string& encoder, const std::string& codec, int max_hw_sessions) {
  if (codec != "h264" && codec != "hevc") throw Error(ErrorCode::kUsage, "--codec must be h264 or hevc");
  if (max_hw_sessions < 0) throw Error(ErrorCode::kUsage, "--hw-sessions must not be negative");
  if (!known_encoder(encoder))
    throw Error(ErrorCode::kUsage,
                "--encoder must be auto, x264, nvenc, vaapi, qsv or videotoolbox, not '" + encoder + "'");
  EncoderChoice c;
  c.slots.cpu_backend = hw::cpu_backend_for(codec);
  const bool cpu_only = encoder == "x264" || encoder == "x265";
  // The CPU path asks FFmpeg's list only: probing every hardware type would cost a CPU-only job time.
  if (cpu_only) {
    const char* lib = codec == "hevc" ? "libx265" : "libx264";
    if (!avcodec_find_encoder_by_name(lib))
      throw Error(ErrorCode::kUsage,
                  std::string(codec) + " on the CPU needs " + lib + ", which this FFmpeg is built without");
    c.description = c.slots.cpu_backend;
    return c;
  }
  const auto& probes = hw::probe_encoders();
  if (!hw::find_usable(probes, c.slots.cpu_backend, codec))
    throw Error(ErrorCode::kUsage, codec + " on the CPU needs " + c.slots.cpu_backend +
                                       ", which is not usable here (available for " + codec + ": " +
                                       available_list(probes, codec) + ")");
  for (const auto& p : probes) {
    if (!p.hardware || p.codec != codec || !p.usable) continue;
    if (encoder != "auto" && p.backend != encoder) continue;
    const int sessions = max_hw_sessions > 0 ? std::min(p.sessions, max_hw_sessions) : p.sessions;
    c.slots.hardware.push_back({p.backend, sessions});
    c.description +=
        p.backend + " (" + std::to_string(sessions) + (sessions == 1 ? " session) + " : " sessions) + ");
  }
  if (encoder != "auto" && c.slots.hardware.empty()) {
    std::string why;
    for (const auto& p : probes)
      if (p.backend == encoder && p.codec == codec && !p.reason.empty())
        why = " (" + encoder + ": " + p.reason + ")";
    if (why.empty()) why = " (" + encoder + " is not built into pvt on this platform)";
    throw Error(ErrorCode::kUsage, "encoder '" + encoder + "' is not available on this machine for " + codec +
                                       why + "; available: " + available_list(probes, codec));
  }
  // An explicit hardware encoder keeps the CPU for segments whose session failed.
  c.slots.cpu_fallback_only = encoder != "auto";
  c.description += c.slots.cpu_backend + (c.slots.cpu_fallback_only ? " (fallback only)" : "");
  return c;
}

}  // namespace pvt
