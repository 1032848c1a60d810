// `pvt worker DESCRIPTOR.json`: encodes exactly one segment's frames.
//
// Seeks to the keyframe at or before the segment, decodes, drops frames before its first, and keeps a
// look-ahead window of decoded frames in which the scene kernel runs: a cut it confirms inside the window
// becomes a forced IDR before the frame reaches the encoder. Writes the segment (MP4, original
// timestamps) under a temporary name, renames it when complete, then writes its WorkerStats.
//
// Progress goes to stdout as JSON lines ({"frames":N}); errors to stderr, one line.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "av_handles.hpp"
#include "frame_reader.hpp"
#include "segment_descriptor.hpp"
#include "video_encoder.hpp"

namespace pvt {

// Test hook, documented in the README: PVT_FAULT="fail:SEG[:ATTEMPTS]" makes the worker for segment SEG
// exit with an error on its first ATTEMPTS attempts (default: all); "short:SEG" makes it drop the last
// frame (a wrong frame count); "crash:SEG" kills it with SIGSEGV halfway through, "hang:SEG" stops it
// there (no more progress: the watchdog's case), "slow:SEG" sleeps 50 ms per frame, "corrupt:SEG"
// truncates the finished segment file; "hw-open"/"hw-die" fail a hardware session. Items combine with
// commas ("crash:1:1,hang:2:1"). The attempt number comes from PVT_WORKER_ATTEMPT, set by the scheduler.
void apply_fault_injection(const SegmentDescriptor& d);

// What a long-lived worker (`pvt worker --serve`) keeps from one segment to the next: the open input with
// its demuxer index and decoder, reused when the next segment reads the same stream with the same threads
// (it seeks; the decoder is flushed).
struct WorkerSession {
  std::unique_ptr<FrameReader> reader;
  std::string input;
  int stream = -1;
  int threads = 0;
  int served = 0;  // segments this worker has finished
  // Target quality: the CRF this worker's last segment ended at under the settings it was searched under
  // (quality_segment.cpp). The next segment's search starts there rather than at --crf: neighbouring
  // segments of one job usually need CRFs close to each other.
  // Keyed by the settings (a ladder's rungs are searched under settings of their own).
  std::map<std::string, double> quality_crf;
};

// Sees the final encode (target quality measures it): the encoder once open, each segment frame as it
// is given to the encoder (pre-roll frames not), and each packet kept for the file, in order.
class EncodeObserver {
 public:
  virtual ~EncodeObserver() = default;
  virtual void opened(const AVCodecContext* encoder) = 0;
  virtual void sent(const AVFrame* frame) = 0;
  virtual void kept(const AVPacket* packet) = 0;
};

// session: null for a one-segment worker. rung_observers: a ladder's lower rungs' observers (rung 1 first;
// fewer than rungs, or null entries: those rungs are not observed).
WorkerStats run_segment_worker(const SegmentDescriptor& d, WorkerSession* session = nullptr,
                               EncodeObserver* observer = nullptr,
                               const std::vector<EncodeObserver*>& rung_observers = {});

// The encoder settings the segment's frames are encoded with, for a first frame as the encoder takes it.
hw::EncoderConfig encoder_config(const SegmentDescriptor& d, const AVFrame* frame);

// The segment's frames at these absolute frame numbers (ascending), decoded and converted as the encoder
// takes them (filters, pixel format, even size; a ladder's `rung` at its size, as that rung's encoder takes
// them). `progress` is called every few frames.
std::vector<av::Frame> read_segment_frames(const SegmentDescriptor& d, WorkerSession* session,
                                           const std::vector<int>& frames,
                                           const std::function<void()>& progress, std::size_t rung = 0);

// Pre-roll frames rung 0 of this segment encodes ahead of it (EncoderSettings::preroll): CPU encoders at
// constant quality only. Target quality's probes take as many, so their first window starts as warm.
int preroll_frames(const SegmentDescriptor& d);

// User + system CPU seconds of this process.
double process_cpu_seconds();

// One descriptor: run it and write its WorkerStats. Returns the segment number.
int run_descriptor(const std::string& descriptor_path, WorkerSession* session = nullptr);

// `worker --serve` (pvt and pvt-mcp alike): reads "ATTEMPT DESCRIPTOR" lines from stdin until its end and
// prints {"done":SEGMENT} on stdout after each segment. A failure throws as a one-segment worker's would
// (the caller prints its line and exits with its code): the pool starts a fresh worker for what follows.
void serve_segments();

}  // namespace pvt
