#include "stage_probe.hpp"

#include "ladder_plan.hpp"

#include "job_options.hpp"

namespace pvt {

namespace {

// Hardware sessions take 8-bit 4:2:0 surfaces here: a deeper or wider picture is encoded on the CPU,
// every segment alike, so the segments join.
void keep_hardware_to_8bit(EncoderChoice& encoders, const OutputPlan& output, const WarnFn& warn) {
  if (output.video.pix_fmt == "yuv420p" || encoders.slots.hardware.empty()) return;
  if (warn)
    warn("hardware encoders take 8-bit 4:2:0 here; " + output.video.pix_fmt + " is encoded on the CPU");
  encoders.slots.hardware.clear();
  encoders.slots.cpu_fallback_only = false;
  encoders.description = encoders.slots.cpu_backend;
}

}  // namespace

ProbeResult probe_stage(const TranscodeOptions& o, const WarnFn& warn) {
  ProbeResult p;
  p.encoders = check_options(o);
  p.target = resolve_output(o);
  p.info = probe_media(o.input);
  if (p.info.truncated && warn)
    warn(o.input + ": " + p.info.truncation_reason + "; transcoding the " +
         std::to_string(p.info.frames.size()) + " frames that could be read");
  OutputChoices choices = output_choices(o, p.target.format);
  // As assemble_hls_ladder lays the set out (a DASH job without --ladder is a set of one rung).
  choices.audio_renditions = p.target.hls.fmp4 && (!o.ladder.empty() || !p.target.hls.dash_manifest.empty());
  p.output = plan_output(p.info, choices);
  for (const auto& w : p.output.warnings)
    if (warn) warn(o.input + ": " + w);
  for (const auto& n : p.output.notes)
    if (o.note) o.note(n);
  keep_hardware_to_8bit(p.encoders, p.output, warn);
  if (!o.ladder.empty()) {
    p.ladder = ladder_heights(o.ladder, p.output.video.displayed_height, warn);
    p.ladder_bitrates = ladder_bitrates(o.ladder_bitrates, p.ladder, o.codec);
  }
  return p;
}

}  // namespace pvt
