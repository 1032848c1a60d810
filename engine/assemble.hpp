// Assembly: the encoded segments joined by stream copy, with every kept audio track, subtitle track,
// attachment, chapter and tag of the input, into one MP4 (+faststart) or Matroska file, or an HLS set:
// MPEG-TS media segments (video and audio) plus, when there are subtitles, a WebVTT rendition each and a
// master playlist naming them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audio_track.hpp"
#include "hls_playlist.hpp"
#include "media_index.hpp"
#include "output_metadata.hpp"
#include "subtitle_track.hpp"

namespace pvt {

struct EncodedSegment {
  std::string path;            // MP4 file from the worker
  std::int64_t start_pts = 0;  // in the input video's time base
  std::int64_t end_pts = 0;
};

struct AssemblyInput {
  std::string source;     // the input file: tags, chapters, attachments, the video's side data
  int source_video = -1;  // its video stream
  AVRational video_time_base{1, 1};
  double frame_rate = 0;
  std::vector<EncodedSegment> segments;  // in presentation order
  // HLS: where each playlist segment starts (input video time base, ascending, the first at segments[0]'s
  // start_pts); each must be a keyframe of the encoded video. Empty: one playlist segment per encoded one.
  std::vector<std::int64_t> piece_starts;
  const std::vector<FrameEntry>* frames = nullptr;  // the input's frame table: gives each packet its duration
  std::vector<AudioTrack> audio;                    // in output order
  std::vector<SubtitleTrack> subtitles;             // in output order
  std::vector<int> attachments;                     // input streams (Matroska only)
  bool chapters = false;
  bool global_metadata = false;
  VideoSideData video_side_data;
  // Subtracted from every timestamp, in the video time base: the input's earliest start over video and
  // audio, so the output starts at zero as players expect, with the streams' relative timing intact.
  std::int64_t origin = 0;
};

struct HlsLayout {
  std::string playlist_name;   // e.g. "index.m3u8": the media playlist, or the master one with subtitles
  std::string segment_prefix;  // e.g. "segment_" -> segment_00000.ts
  std::string stem;            // e.g. "index": names the video and subtitle playlists beside a master
  bool fmp4 = false;           // fMP4 (CMAF) media segments even for codecs MPEG-TS carries
  // Streaming sets (ladders, DASH): which manifests are published. The rungs' media playlists are
  // written either way: verification reads each rung through them.
  bool hls_manifest = true;
  std::string dash_manifest;  // e.g. "manifest.mpd"; empty: none
};

struct AssemblyResult {
  std::int64_t video_packets = 0;
  std::int64_t audio_packets = 0;  // over all tracks
  std::vector<std::int64_t> audio_packets_per_track;
  int dts_repairs = 0;             // decode timestamps nudged at joins to keep them strictly increasing
  std::vector<std::string> files;  // every file written (the playlist at the output path last for HLS)
  std::vector<double> segment_durations;  // HLS EXTINF values
  // Ladders: each rung's media playlist (in the staging folder) and what the master playlist says of it.
  std::vector<std::string> rung_playlists;
  std::vector<HlsVariant> variants;
  // fMP4 ladders and DASH: the audio, once, as a rendition of its own per track (media playlist in the
  // staging folder); the rungs then carry video alone.
  std::vector<std::string> audio_playlists;
  std::string dash_manifest;  // its path in the staging folder, when written
};

// Writes one file at `path` (a temporary name: the caller renames it once verified); muxer "mp4" or
// "matroska" (WebM too, by its own muxer name "webm").
AssemblyResult assemble_file(const AssemblyInput& in, const std::string& muxer, const std::string& path);

// Writes the playlist(s), segments and subtitle files into directory `dir` (a staging directory).
AssemblyResult assemble_hls(const AssemblyInput& in, const std::string& dir, const HlsLayout& layout);

// A streaming set: one media playlist per rung (`rung_files[r][s]`: rung r's file of segment s, tallest
// rung first; `in.segments` gives their timing and ends as it came), named STEM_<height>p.m3u8 with segments
// STEM_r<rung>_00000.m4s (or .ts); the audio once per track as its own rendition (STEM_audio<k>.m3u8,
// STEM_a<k>_00000.m4s) with fMP4 segments, in every rung with MPEG-TS; the subtitles once; the master
// playlist at layout.playlist_name naming them all, and the DASH manifest when layout asks for one.
AssemblyResult assemble_hls_ladder(AssemblyInput& in, const std::vector<std::vector<std::string>>& rung_files,
                                   const std::string& dir, const HlsLayout& layout);

}  // namespace pvt
