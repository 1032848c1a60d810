// The job's state on disk (DESIGN.md, "Job state"): job.json in the job folder beside the output. It
// says what the job is — the input's fingerprint, the settings that shape the output, the plan — and
// which segments are finished, each with the SHA-256 of its file. A job killed at any point (SIGKILL
// included) leaves it behind; running the same command again reads it, refuses when the input or the
// settings changed (saying which), and reuses every segment whose checksum still matches.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "segment_descriptor.hpp"
#include "segment_plan.hpp"

namespace pvt {

inline constexpr int kJobStateVersion = 1;

struct InputFingerprint {
  std::string path;  // absolute
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  // SHA-256 of the first and last MiB: an edit in place that keeps the size and the mtime (a copy with
  // preserved times) still changes the fingerprint. A full hash would cost a read of the whole input.
  std::string sample_sha256;
  std::int64_t frames = 0;
  bool operator==(const InputFingerprint&) const = default;
};

struct FinishedSegment {
  int index = 0;
  std::string file;    // name inside the job folder
  std::string sha256;  // of the file, hex
  // A ladder's lower rungs: their files (names inside the job folder) and checksums, rung 1 first.
  std::vector<std::string> rung_files, rung_sha256;
  WorkerStats stats;  // what its worker reported (backend, speed, bytes, keyframes, ...)
  int attempts = 1;
  std::string fallback_from, fallback_reason;
  std::int64_t target_bitrate = 0;
  std::int64_t peak_rss_bytes = 0;
  bool operator==(const FinishedSegment&) const = default;
};

struct JobState {
  int version = kJobStateVersion;
  std::string job_id;
  std::string output;  // the final path (MP4 file or HLS playlist)
  std::string format;  // mp4 or hls
  InputFingerprint input;
  // The options that shape the output (codec, quality, segmenting, audio): a resume must use the same.
  nlohmann::json settings = nlohmann::json::object();
  int threads_per_worker = 1;  // kept so redone segments are encoded exactly as the first run would
  std::string plan_basis;
  std::vector<Segment> plan;
  std::vector<FinishedSegment> finished;
  std::string status = "running";  // running, interrupted, failed, complete (kept by --keep-work)
  std::string message;             // why it stopped, for status reports
  std::string started;             // ISO 8601 UTC
  std::string updated;
  int pid = 0;  // the process that last ran it
  // A Slurm executor's job arrays for it, first submission first (also in array/slurm.json, which the
  // executor reads back): a user or a status report finds the cluster's jobs here.
  std::vector<std::string> slurm_job_ids;
  bool operator==(const JobState&) const = default;

  const FinishedSegment* finished_segment(int index) const;
};

// JSON text of the state, and its parser: throws Error(kInput) naming what is wrong (the file may have
// been damaged or written by another version).
std::string job_state_text(const JobState& state);
JobState parse_job_state(std::string_view text);

void to_json(nlohmann::json& j, const Segment& s);
void from_json(const nlohmann::json& j, Segment& s);

// Fingerprint of the input as it is now; `frames` comes from the probe.
InputFingerprint fingerprint_input(const std::string& path, std::int64_t frames);

// Why `saved` cannot be resumed with this input and these settings, one phrase per difference
// ("crf 23 -> 20", "the input changed: size 1000 -> 2000 bytes"); empty when it can.
std::vector<std::string> resume_conflicts(const JobState& saved, const InputFingerprint& input,
                                          const nlohmann::json& settings);

// SHA-256 of a file, hex. Throws Error(kInput) when it cannot be read.
std::string sha256_file(const std::string& path);

// Now, as ISO 8601 UTC ("2026-11-25T01:02:03Z").
std::string utc_now_text();

}  // namespace pvt
