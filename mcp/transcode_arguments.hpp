// transcode_video's encoding arguments: one table of every `pvt transcode` option that makes sense for a
// model (codec, encoder, quality, segments, analysis, audio and tracks, fidelity, executor), each with
// its JSON Schema and how it lands in TranscodeOptions. The options a model should not set (the
// operator's: memory, cluster account, time-outs; the terminal's: --json, --progress) are listed with
// why in kCliOnlyTranscodeOptions, and a test fails when a CLI option is in neither list.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "capabilities.hpp"
#include "server_config.hpp"
#include "tool_args.hpp"
#include "transcode_job.hpp"

namespace pvt::mcp {

struct CliOnlyOption {
  const char* option;  // as `pvt transcode --help` spells it
  const char* why;
};

// `pvt transcode` options with no transcode_video argument, and why.
extern const std::vector<CliOnlyOption> kCliOnlyTranscodeOptions;

// The backends a model may choose: auto and every encoder this machine's probe opened (plus the server's
// own --encoder when it is none of those, so the schema's default is always one of the choices).
std::vector<std::string> encoder_choices(const MachineCapabilities& caps, const ServerConfig& config);

// The schema properties of the encoding arguments (inputSchema.properties is these plus the lifecycle
// ones: input, output, format, overwrite, restart, resume_job_id, wait).
nlohmann::json encoding_argument_schema(const ServerConfig& config, const std::vector<std::string>& encoders);

// Their names, for ToolArgs.
const std::vector<std::string>& encoding_argument_names();

// Reads the encoding arguments into `o` (over the server's defaults already in it). Throws ToolError for
// a value out of range, a combination the engine refuses (crf with bitrate, quality options without a
// target) and an encoder this machine does not have, naming the choices.
void apply_encoding_arguments(const ToolArgs& args, TranscodeOptions& o, const ServerConfig& config,
                              const std::vector<std::string>& encoders, const MachineCapabilities& caps);

}  // namespace pvt::mcp
