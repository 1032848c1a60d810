#include "segment_tracker.hpp"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "job_context.hpp"
#include "quality_segment.hpp"
#include "verify_output.hpp"
#include "video_encoder.hpp"

namespace pvt {

namespace {

// The job's own check of a finished segment, independent of what its worker claims: it must demux to
// its frames with increasing timestamps.
std::string check_segment_file(const std::string& path, int expected_frames) {
  try {
    const OutputReport r = inspect_output(path);
    if (r.video_frames != expected_frames)
      return "segment file holds " + std::to_string(r.video_frames) + " frames, expected " +
             std::to_string(expected_frames);
    if (!r.dts_monotonic) return "segment file has timestamps out of order";
  } catch (const std::exception& e) {
    return std::string("segment file is unreadable: ") + e.what();
  }
  return {};
}

}  // namespace

SegmentTracker::SegmentTracker(JobContext& job, const JobPlan& plan,
                               std::vector<SegmentDescriptor> descriptors)
    : job_(job),
      plan_(plan),
      descriptors_(std::move(descriptors)),
      frames_(plan.plan.segments.size(), 0),
      started_(plan.plan.segments.size(), false),
      finished_(plan.plan.segments.size(), false),
      written_(plan.plan.segments.size(), false),
      spent_bits_(plan.plan.segments.size(), 0),
      results_(plan.plan.segments.size()),
      last_emit_(std::chrono::steady_clock::now()) {}

void SegmentTracker::reuse(const FinishedSegment& f) {
  SegmentResult& r = results_[f.index];
  r.stats = f.stats;
  r.attempts = f.attempts;
  r.fallback_from = f.fallback_from;
  r.fallback_reason = f.fallback_reason;
  r.peak_rss_bytes = f.peak_rss_bytes;
  descriptors_[f.index].encoder.bitrate = f.target_bitrate;
  finished_[f.index] = started_[f.index] = true;
  spent_bits_[f.index] = f.stats.bytes * 8;
  frames_[f.index] = plan_.plan.segments[f.index].frame_count();
  ++job_.progress.segments_done;
  note_quality(f.index, f.stats);
}

void SegmentTracker::note_quality(int segment, const WorkerStats& stats) {
  if (!stats.quality.metric.empty())
    job_.progress.segment_quality[segment] = {stats.quality.crf, stats.quality.score};
}

// Bitrate mode: the bits not yet committed (spent by finished segments, budgeted to running ones),
// shared by complexity among the segments still waiting, this one included; never under a quarter of
// its planned budget.
std::int64_t SegmentTracker::fresh_bit_budget(int segment) const {
  std::int64_t committed = 0;
  double waiting_weight = 0;
  for (const auto& s : plan_.plan.segments) {
    if (finished_[s.index] || written_[s.index])
      committed += spent_bits_[s.index];
    else if (started_[s.index] && s.index != segment)
      committed += descriptors_[s.index].bit_budget;
    else
      waiting_weight += s.complexity;
  }
  const Segment& seg = plan_.plan.segments[segment];
  const double share = seg.complexity / std::max(waiting_weight, 1e-9);
  const double remaining = std::max(0.25 * static_cast<double>(seg.bit_budget),
                                    static_cast<double>(plan_.total_bits - committed) * share);
  return static_cast<std::int64_t>(remaining);
}

void SegmentTracker::started(const SegmentTask& t, const std::string& backend,
                             const std::string& fallback_from) {
  SegmentDescriptor& d = descriptors_[t.segment];
  d.encoder.backend = backend;
  d.encoder.fallback_from = fallback_from;
  if (hw::is_hardware_backend(backend)) d.encoder.pix_fmt = hw::input_pix_fmt(backend);
  if (plan_.total_bits > 0) {
    d.bit_budget = fresh_bit_budget(t.segment);
    d.encoder.bitrate = std::max<std::int64_t>(
        10000, static_cast<std::int64_t>(static_cast<double>(d.bit_budget) /
                                         std::max(plan_.plan.segments[t.segment].duration_s, 1e-3)));
  }
  if (d.quality.enabled())
    d.quality.probe_offsets = probe_offsets();  // the worker skips them if probed whole
  started_[t.segment] = true;
  write_json_file(t.descriptor_path, nlohmann::json(d));
}

// Per rendition, what the finished windowed segments' finals scored over their probes, for the next ones.
std::vector<double> SegmentTracker::probe_offsets() const {
  const std::size_t renditions = std::max<std::size_t>(1, descriptors_.front().ladder.size());
  std::vector<double> offsets;
  for (std::size_t r = 0; r < renditions; ++r) {
    std::vector<QualityResult> finished;
    for (std::size_t i = 0; i < descriptors_.size(); ++i) {
      if (!(finished_[i] || written_[i]) || probed_whole(descriptors_[i])) continue;
      const WorkerStats& s = results_[i].stats;
      finished.push_back(r == 0 ? s.quality : r < s.ladder.size() ? s.ladder[r].quality : QualityResult{});
    }
    offsets.push_back(learned_probe_offset(finished, descriptors_.front().quality.metric));
  }
  return offsets;
}

void SegmentTracker::progress(int segment, int frames) {
  frames_[segment] = frames;
  job_.progress.frames_done = frames_done();
}

void SegmentTracker::written(const SegmentTask& t, const SegmentResult& r) {
  written_[t.segment] = true;
  spent_bits_[t.segment] = r.stats.bytes * 8;
  results_[t.segment] = r;  // its quality results count for the next segments' probe offsets too
}

std::string SegmentTracker::check(const SegmentTask& t) {
  return check_segment_file(descriptors_[t.segment].output, t.expected_frames);
}

void SegmentTracker::finished(const SegmentTask& t, const SegmentResult& r) {
  results_[t.segment] = r;
  finished_[t.segment] = true;
  spent_bits_[t.segment] = r.stats.bytes * 8;
  ++job_.progress.segments_done;
  note_quality(t.segment, r.stats);
  // Recorded at once, with the file's checksum: from here on a killed job keeps this segment.
  const SegmentDescriptor& d = descriptors_[t.segment];
  FinishedSegment f;
  f.index = t.segment;
  f.file = std::filesystem::path(d.output).filename().string();
  f.sha256 = sha256_file(d.output);
  for (std::size_t r = 1; r < d.ladder.size(); ++r) {
    f.rung_files.push_back(std::filesystem::path(d.ladder[r].output).filename().string());
    f.rung_sha256.push_back(sha256_file(d.ladder[r].output));
  }
  f.stats = r.stats;
  f.attempts = r.attempts;
  f.fallback_from = r.fallback_from;
  f.fallback_reason = r.fallback_reason;
  f.target_bitrate = d.encoder.bitrate;
  f.peak_rss_bytes = r.peak_rss_bytes;
  job_.state.finished.push_back(f);
  job_.dir.save(job_.state);
}

void SegmentTracker::failed(const SegmentTask& t, const std::string& /*reason*/, bool retrying) {
  // The job's failure message comes from the executor's error; here only the retry's frames start over.
  if (written_[t.segment]) results_[t.segment] = {};  // its check failed: not a result after all
  written_[t.segment] = false;
  if (retrying) progress(t.segment, 0);
}

void SegmentTracker::cluster_state(const std::vector<std::string>& job_ids,
                                   const std::map<std::string, int>& tasks) {
  job_.progress.cluster_job_id = job_ids.empty() ? "" : job_ids.front();
  job_.progress.cluster_tasks = tasks;
  // job.json names the cluster's jobs as soon as they exist, for whoever looks at the job folder.
  if (job_ids != job_.state.slurm_job_ids) {
    job_.state.slurm_job_ids = job_ids;
    job_.dir.save(job_.state);
  }
}

void SegmentTracker::tick() {
  if (std::chrono::steady_clock::now() - last_emit_ < std::chrono::milliseconds(200)) return;
  last_emit_ = std::chrono::steady_clock::now();
  job_.emit("encode");
}

std::int64_t SegmentTracker::frames_done() const {
  std::int64_t total = 0;
  for (int f : frames_) total += f;
  return total;
}

}  // namespace pvt
