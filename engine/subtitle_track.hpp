// Text and bitmap subtitle tracks for the output, read whole into memory before assembly (subtitles are
// a few kilobytes an hour): copied as they are, or converted between text formats (SRT, ASS, mov_text,
// WebVTT) through libavcodec's subtitle decoder and encoder, as the output's container needs.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "av_handles.hpp"

namespace pvt {

struct SubtitleTrack {
  int input_stream = -1;
  std::string codec;  // the output's
  av::CodecParameters par;
  AVRational time_base{1, 1000};
  std::vector<av::Packet> packets;  // in presentation order, timestamps in time_base, input timeline
};

// output_codec equal to the input's codec copies; another converts (text to text only). Throws
// Error(kInput) naming the stream when it cannot be read or converted.
SubtitleTrack prepare_subtitles(const std::string& path, int stream, const std::string& output_codec,
                                const std::atomic<bool>* cancel = nullptr);

}  // namespace pvt
