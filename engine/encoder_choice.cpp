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
  return e == "auto" || hw::is_cpu_backend(e) || e == "nvenc" || e == "vaapi" || e == "qsv" ||
         e == "videotoolbox" || e == "pretend";
}

bool known_codec(const std::string& c) {
  return c == "h264" || c == "hevc" || c == "av1" || c == "vp9";
}

void check_codec(const std::string& codec) {
  if (!known_codec(codec))
    throw Error(ErrorCode::kUsage, "--codec must be h264, hevc, av1 or vp9, not '" + codec + "'");
}

// The CPU slots' backend: x264 (the default --encoder) means "the CPU" for any codec, as it always has for
// hevc (x265); an AV1/VP9 encoder named must make the codec asked for.
std::string cpu_backend(const std::string& encoder, const std::string& codec) {
  if (encoder == "x264" || encoder == "x265" || !hw::is_cpu_backend(encoder))
    return hw::cpu_backend_for(codec);
  if (hw::codec_of_cpu_backend(encoder) != codec)
    throw Error(ErrorCode::kUsage, "--encoder " + encoder + " makes " + hw::codec_of_cpu_backend(encoder) +
                                       ", not " + codec + ": add --codec " +
                                       hw::codec_of_cpu_backend(encoder));
  return encoder;
}

const char* ffmpeg_name(const std::string& cpu_backend) {
  if (cpu_backend == "x265") return "libx265";
  if (cpu_backend == "svtav1") return "libsvtav1";
  if (cpu_backend == "aom") return "libaom-av1";
  if (cpu_backend == "rav1e") return "librav1e";
  if (cpu_backend == "vpx") return "libvpx-vp9";
  return "libx264";
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
  if (hw::is_cpu_backend(encoder)) return choose_encoders(encoder, codec, 0);
  if (!known_encoder(encoder))
    throw Error(ErrorCode::kUsage,
                "--encoder must be x264, x265, svtav1, aom, rav1e, vpx, nvenc, vaapi, qsv or "
                "videotoolbox, not '" +
                    encoder + "'");
  check_codec(codec);
  EncoderChoice c;
  c.slots.cpu_backend = hw::cpu_backend_for(codec);
  // Not probed here: the nodes have what they have. A task whose session fails there falls back.
  c.slots.hardware.push_back({encoder, 1});
  c.slots.cpu_fallback_only = true;
  c.description = encoder + " on the nodes, " + c.slots.cpu_backend + " (fallback only)";
  return c;
}

EncoderChoice choose_encoders(const std::string& encoder, const std::string& codec, int max_hw_sessions) {
  check_codec(codec);
  if (max_hw_sessions < 0) throw Error(ErrorCode::kUsage, "--hw-sessions must not be negative");
  if (!known_encoder(encoder))
    throw Error(ErrorCode::kUsage,
                "--encoder must be auto, x264, x265, svtav1, aom, rav1e, vpx, nvenc, vaapi, "
                "qsv or videotoolbox, not '" +
                    encoder + "'");
  EncoderChoice c;
  c.slots.cpu_backend = cpu_backend(encoder, codec);
  const bool cpu_only = hw::is_cpu_backend(encoder);
  // The CPU path asks FFmpeg's list only: probing every hardware type would cost a CPU-only job time.
  if (cpu_only) {
    const char* lib = ffmpeg_name(c.slots.cpu_backend);
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
