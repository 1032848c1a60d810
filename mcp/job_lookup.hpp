// The jobs the job tools can name: the registry's (this server's, "job-N") and the interrupted ones found
// on disk ("resume-...", disk_jobs.hpp), each once. A job on disk is left out while this server is
// writing its output (it is being resumed: the registry's job reports it) or when a finished job of the
// registry already reports it (it failed or was interrupted here and carries its resume_job_id).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "disk_jobs.hpp"
#include "tools.hpp"

namespace pvt::mcp {

// The registry's jobs in submission order, then the interrupted ones on disk.
std::vector<JobStatus> all_jobs(const ToolEnv& env);

// A job by id. For an on-disk id: the registry's job that resumed it if there is one, else the job on
// disk. nullopt: no such job (or its folder is held by another process).
std::optional<JobStatus> find_job(const ToolEnv& env, const std::string& id);

// An on-disk job by id, running or not.
std::optional<DiskJob> find_disk_job(const ToolEnv& env, const std::string& id);

}  // namespace pvt::mcp
