// Assembly: the encoded segments, joined by stream copy, with the audio track, into one MP4
// (+faststart) or an HLS playlist with one MPEG-TS media segment per encoded segment.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audio_track.hpp"
#include "media_index.hpp"

namespace pvt {

struct EncodedSegment {
  std::string path;            // MP4 file from the worker
  std::int64_t start_pts = 0;  // in the input video's time base
  std::int64_t end_pts = 0;
};

struct AssemblyInput {
  AVRational video_time_base{1, 1};
  std::vector<EncodedSegment> segments;             // in presentation order
  const std::vector<FrameEntry>* frames = nullptr;  // the input's frame table: gives each packet its duration
  AudioTrack audio;
  // Subtracted from every timestamp, in the video time base: the input's earliest start over video and
  // audio, so the output starts at zero as players expect, with the streams' relative timing intact.
  std::int64_t origin = 0;
};

struct HlsLayout {
  std::string playlist_name;   // e.g. "index.m3u8"
  std::string segment_prefix;  // e.g. "segment_" -> segment_00000.ts
};

struct AssemblyResult {
  std::int64_t video_packets = 0;
  std::int64_t audio_packets = 0;
  int dts_repairs = 0;             // decode timestamps nudged at joins to keep them strictly increasing
  std::vector<std::string> files;  // every file written (playlist last for HLS)
  std::vector<double> segment_durations;  // HLS EXTINF values
};

// Writes one MP4 at `path` (a temporary name: the caller renames it once verified).
AssemblyResult assemble_mp4(const AssemblyInput& in, const std::string& path);

// Writes the playlist and its segments into directory `dir` (a staging directory).
AssemblyResult assemble_hls(const AssemblyInput& in, const std::string& dir, const HlsLayout& layout);

}  // namespace pvt
