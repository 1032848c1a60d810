// Target quality in the worker (`--target-quality`): the segment's CRF is searched on probe encodes of a
// sample of its frames, the segment is encoded at the CRF the probes predict, and the final file's own
// score is measured; a miss beyond the tolerance is encoded again with a corrected CRF (up to
// max_reencodes times).
//
// The probe sample: the whole segment when it has at most 96 frames; else four windows of consecutive
// frames centred at 1/8, 3/8, 5/8 and 7/8 of it, 25 % of its frames in all (at least 48), fewer when the
// frames would take more than 256 MiB. Each window starts with an IDR, as a segment does, and is encoded
// with the final encode's settings (encoder, preset, threads, look-ahead, pixel format, filters) but
// without pre-roll, and followed by a quarter of the encoder's look-ahead in frames that are encoded for
// context but not scored.
//
// Probes are cached in the descriptor's cache file, keyed by everything that changes their scores, so a
// resumed job or a rerun with another target measures only what it has not measured before.
#pragma once

#include "segment_descriptor.hpp"
#include "segment_worker.hpp"

namespace pvt {

WorkerStats run_quality_segment(const SegmentDescriptor& d, WorkerSession* session);

// Is this segment short enough to be probed whole (its sample every frame, with its final's pre-roll)?
// Then its probes are its final encode, and no learned probe offset applies to it.
bool probed_whole(const SegmentDescriptor& d);

// The probe offset the job hands a rendition's next segments (CrfSearch::probe_offset), learned from the
// first finals of its finished windowed segments: what each scored over its probes' prediction, in the
// search's domain, summed and divided by one more than their count (so one segment's error counts half,
// and a job starts from none).
double learned_probe_offset(const std::vector<QualityResult>& finished, const std::string& metric);

// The probe sample's frames (absolute frame numbers, ascending) and where its windows start.
struct ProbeSample {
  std::vector<int> frames;
  std::vector<int> window_starts;
  std::vector<bool> scored;  // per frame: false for a window's lead-out (encoded for context, not scored)
};
ProbeSample probe_sample(const SegmentDescriptor& d, std::int64_t frame_bytes);

}  // namespace pvt
