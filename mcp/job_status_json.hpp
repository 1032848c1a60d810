// The JSON face of a job: the status object the job tools return, its JSON Schema (clients validate
// structuredContent against it, so the two are kept side by side), the one-line summary for the model,
// and resource links to the output files.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "job_registry.hpp"
#include "tool.hpp"

namespace pvt::mcp {

nlohmann::json status_json(const JobStatus& s, bool with_summary = true);
nlohmann::json status_schema(bool with_summary = true);

// "job-1 running: encode 42% (600/1440 frames, 2/6 segments), 85.3 fps, about 10 s left."
std::string status_sentence(const JobStatus& s);
// "call transcode_video with resume_job_id ..." for a job whose state is kept; empty otherwise.
std::string resume_hint(const JobStatus& s);
// A short progress message for notifications/progress.
std::string progress_message(const JobStatus& s);
// Sends the job's percentage (one decimal: finer steps only add noise) as the request's progress.
void report_progress(RequestContext& request, const JobStatus& s);

// One resource_link content item per output file.
std::vector<nlohmann::json> resource_links(const JobStatus& s);
std::string file_uri(const std::string& absolute_path);

}  // namespace pvt::mcp
