// What assembly copies from the input beside the packets: global tags, chapters, each stream's language,
// title and disposition, the video's display matrix and HDR static metadata, Matroska attachments.
#pragma once

#include <cstdint>
#include <string>

#include "av_handles.hpp"

namespace pvt {

struct VideoSideData {
  bool display_matrix = false;  // copy the input's (MP4 keeps rotation this way)
  std::string master_display;   // HDR10 mastering display (x265 syntax) for the container; empty: none
  int max_cll = -1;             // -1: none
  int max_fall = 0;
};

// Global metadata without the demuxer's bookkeeping (brands, encoder, durations).
void copy_global_metadata(const AVFormatContext* in, AVFormatContext* out);

// The input's chapters, shifted by `origin_us` (microseconds subtracted so the output starts at zero).
void copy_chapters(const AVFormatContext* in, AVFormatContext* out, std::int64_t origin_us);

// Language, title and disposition (and other tags, less statistics the muxer recomputes).
// title_as_handler: also write the title as the handler name (MP4's only place for a track name).
void copy_stream_tags(const AVStream* in, AVStream* out, bool title_as_handler = false);

// Display matrix and HDR10 metadata on the output's video stream.
void set_video_side_data(const AVStream* in, AVStream* out, const VideoSideData& want);

// An attachment stream (a font): its parameters (the file is the extradata) and tags.
void copy_attachment(const AVStream* in, AVFormatContext* out);

}  // namespace pvt
