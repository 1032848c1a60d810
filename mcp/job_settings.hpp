// The settings a job's state records (job.json `settings`: what shapes the output) and the transcode
// options they stand for, both ways. resume_job_id rebuilds a job's options from its state, and
// transcode_video compares a new call's options with a state found on disk before queueing the job, so a
// call the engine would refuse ("crf 23 -> 20") is refused at once, as a tool error.
//
// settings_json() is the engine's own list (output_settings in engine/transcode_job.hpp);
// options_from_settings() is its inverse, and tests/mcp_resume_test.cpp checks the round trip against a
// state the engine wrote, so a key added there and not read here fails a test.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "transcode_job.hpp"

namespace pvt::mcp {

struct ServerConfig;

nlohmann::json settings_json(const TranscodeOptions& options, const std::string& format);

// The options a state's settings stand for, over TranscodeOptions' defaults; input, output, workers and
// the like are the caller's. Throws ToolError naming a setting it cannot read.
TranscodeOptions options_from_settings(const nlohmann::json& settings);

// Where the server's jobs run (its --executor and --slurm-* settings): not part of a job's settings, so
// a job interrupted under one executor may be finished under another. With Slurm, "auto" encodes on the
// CPU: the cluster's nodes have no hardware sessions the server could probe.
void apply_executor(TranscodeOptions& options, const ServerConfig& config);

}  // namespace pvt::mcp
