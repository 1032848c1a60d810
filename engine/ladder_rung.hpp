// The lower rungs of a streaming ladder inside one worker: each decoded (and filtered) frame is scaled
// straight to each lower rung's height and pixel format as it enters the look-ahead window, and encoded by
// the rung's own encoder when rung 0's copy leaves the window, with the same forced IDRs, into a file of
// the rung's own. So one decode (and one look-ahead analysis) feeds every rendition, each is scaled once
// from the source as a separate encode would be, and their segments line up.
#pragma once

#include <memory>
#include <string>

#include "av_handles.hpp"
#include "error.hpp"
#include "segment_descriptor.hpp"
#include "segment_writer.hpp"
#include "video_encoder.hpp"

namespace pvt {

// The even width that shows a frame of this size and sample aspect at `height` with square pixels.
int ladder_width(int height, int frame_width, int frame_height, AVRational sample_aspect);

class LadderRungEncoder {
 public:
  LadderRungEncoder(const SegmentDescriptor& d, const LadderRung& rung);
  LadderRungEncoder(const LadderRungEncoder&) = delete;
  LadderRungEncoder& operator=(const LadderRungEncoder&) = delete;
  ~LadderRungEncoder();

  // The frame at this rung's size in the encoder's pixel format (the first one fixes the size).
  av::Frame scale(const AVFrame* decoded, AVPixelFormat target);
  // The first frame opens the encoder and the file (`output`.part).
  void send(AVFrame* scaled, bool idr);
  // Flushes the encoder and closes the file; throws Error(kEncode) when packets and frames differ.
  void finish();
  // Renames the finished file to its output name.
  void publish();
  RungStats stats() const;

 private:
  Error failure(const std::string& what) const;
  void open(const AVFrame* scaled);
  void drain();

  const SegmentDescriptor& d_;
  LadderRung rung_;
  std::string part_;
  av::Scaler sws_;
  int width_ = 0, height_ = 0;
  av::Packet pkt_;
  std::unique_ptr<hw::VideoEncoder> encoder_;
  std::unique_ptr<SegmentWriter> writer_;
  int frames_ = 0;
};

}  // namespace pvt
