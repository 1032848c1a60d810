// Jobs found on disk: the engine keeps a job's state in `.NAME.pvt-job/` beside its output when the job
// was interrupted (a signal, the server's shutdown, a kill) or failed with finished segments, so that
// running it again resumes it. A restarted server has no memory of them; this finds them in the output
// directory so get_transcode_status and list_transcodes can report them and transcode_video can resume
// them.
//
// Ids: "resume-" + the engine's job id from job.json (JobState::job_id, "<pid>-<start time in ns>"). The
// engine keeps that id through every resume, so the id stays the same across server restarts and
// repeated interruptions, and never collides with the registry's "job-N".
//
// Where: the output directory and its subdirectories (not through symlinks, not into hidden folders,
// at most kScanDepth levels and kScanEntries entries in all, so a huge tree cannot stall a status call),
// plus any folder given explicitly (the work folders of the outputs this server wrote).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "job_registry.hpp"
#include "job_state.hpp"

namespace pvt::mcp {

inline constexpr const char* kDiskJobPrefix = "resume-";
inline constexpr int kScanDepth = 6;
inline constexpr int kScanEntries = 50000;

struct DiskJob {
  std::string id;  // kDiskJobPrefix + state.job_id
  std::filesystem::path dir;
  bool running = false;  // its lock is held: a live process (this server or another) is writing it
  pvt::JobState state;
  // What TranscodeOptions::output must be to resume it: the MP4 file, the .m3u8 file, or the HLS folder
  // (the engine derives the job folder from it, so it must lead back to `dir`).
  std::filesystem::path engine_output;
};

bool is_disk_job_id(const std::string& id);

// The job id of the state in job folder `dir` ("resume-..."); nullopt when it has none that parses.
std::optional<std::string> disk_job_id_in(const std::filesystem::path& dir);

// The engine's output argument that leads to `dir` for this state; nullopt when the folder does not
// belong to the state's output (it was moved or copied), so resuming from it would write elsewhere.
std::optional<std::filesystem::path> engine_output_for(const std::filesystem::path& dir,
                                                       const pvt::JobState& state);

// Every job folder under `root` (see the top) and directly in each of `extra_dirs`, with a parseable
// state that is not complete and that leads back to its own folder. Sorted by folder, no duplicates.
std::vector<DiskJob> find_disk_jobs(const std::filesystem::path& root,
                                    const std::vector<std::filesystem::path>& extra_dirs = {});

// The job folder for `engine_output` (TranscodeOptions::output), if it holds a state that is not complete.
std::optional<DiskJob> disk_job_for_output(const std::filesystem::path& engine_output);

// The status object of an on-disk job: state "interrupted", segments and frames from the finished
// segments, the reason it stopped as `error`, and resume_job_id = its id.
JobStatus disk_job_status(const DiskJob& job);

// Removes a job folder that no process holds (cancel_transcode on an on-disk job): takes its lock
// first, so a process resuming it at the same moment wins and the folder stays. False when it is held.
bool discard_disk_job(const DiskJob& job);

}  // namespace pvt::mcp
