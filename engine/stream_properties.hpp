// What the probe learns about each stream beyond its codec: the tags and flags an output must keep, and
// the video's display properties (rotation, aspect, colour, HDR static metadata).
#pragma once

#include <string>

#include "media_index.hpp"

struct AVFormatContext;
struct AVStream;
struct AVFrame;

namespace pvt {

// Language, title, disposition, subtitle kind, start time.
void read_stream_tags(const AVStream* st, StreamSummary& s);

// Display matrix, aspect ratio, colour tags and container-level HDR metadata of the video stream.
VideoDisplay read_video_display(const AVStream* st);

// HDR10 metadata carried only in the bitstream (HEVC SEI) and colour tags only the decoder sees: decodes
// the first frame of `stream` and adds what it finds to `display`. Only for streams that may carry HDR
// (more than 8 bits or a PQ/HLG transfer): it costs one decoded frame.
void read_frame_hdr_metadata(const std::string& path, int stream, VideoDisplay& display);

// The side data of a decoded frame (mastering display, content light level) into `display`.
void read_hdr_side_data(const AVFrame* frame, VideoDisplay& display);

}  // namespace pvt
