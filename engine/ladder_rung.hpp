// The lower rungs of a streaming ladder inside one worker: the frames the worker encodes for rung 0
// (already at rung 0's size and the encoder's pixel format) are scaled to each lower rung's height and
// encoded by an encoder of the rung's own, with the same forced IDRs, into a file of the rung's own. So
// one decode (and one look-ahead analysis) feeds every rendition, and their segments line up.
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

  // The first frame opens the scaler, the encoder and the file (`output`.part).
  void send(const AVFrame* top, bool idr);
  // Flushes the encoder and closes the file; throws Error(kEncode) when packets and frames differ.
  void finish();
  // Renames the finished file to its output name.
  void publish();
  RungStats stats() const;

 private:
  Error failure(const std::string& what) const;
  void open(const AVFrame* top);
  void drain();

  const SegmentDescriptor& d_;
  LadderRung rung_;
  std::string part_;
  av::Scaler sws_;
  av::Frame scaled_;
  av::Packet pkt_;
  std::unique_ptr<hw::VideoEncoder> encoder_;
  std::unique_ptr<SegmentWriter> writer_;
  int frames_ = 0;
};

}  // namespace pvt
