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

// The reports of a succeeded job, each an MCP resource pvt://jobs/{job_id}/{what} (job_resources.hpp).
struct JobReportKind {
  const char* what;
  const char* mime;
  const char* title;
};
const std::vector<JobReportKind>& job_report_kinds();
std::string job_resource_uri(const std::string& job_id, const std::string& what);

// One resource_link content item per output file, then one per report of a succeeded job.
std::vector<nlohmann::json> resource_links(const JobStatus& s);
std::string file_uri(const std::string& absolute_path);
// The media type of an output file by its extension.
std::string mime_type(const std::string& path);

}  // namespace pvt::mcp
