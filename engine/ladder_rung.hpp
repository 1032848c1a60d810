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
#include "segment_worker.hpp"
#include "segment_writer.hpp"
#include "video_encoder.hpp"

namespace pvt {

// The even width that shows a frame of this size and sample aspect at `height` with square pixels.
int ladder_width(int height, int frame_width, int frame_height, AVRational sample_aspect);

// A lower rung's picture: a decoded (and filtered) frame scaled to the rung's height, square pixels, in
// the encoder's pixel format. The final encode and target quality's probes both take their frames from
// here, so a probe scores exactly the frames the rung encodes.
class RungScaler {
 public:
  explicit RungScaler(int height) : height_(height & ~1) {}
  // The first frame fixes the width; throws Error(kEncode) when swscale cannot make this size.
  av::Frame scale(const AVFrame* decoded, AVPixelFormat target);
  int width() const { return width_; }
  int height() const { return width_ ? height_ : 0; }

 private:
  av::Scaler sws_;
  int width_ = 0, height_ = 0;
};

// A lower rung's encoder settings: the segment's, with the rung's peak cap and, under target quality, the
// CRF its own search found.
hw::EncoderConfig rung_encoder_config(const SegmentDescriptor& d, const LadderRung& rung,
                                      const AVFrame* frame);

class LadderRungEncoder {
 public:
  // observer: sees this rung's encode (target quality scores it); may be null.
  LadderRungEncoder(const SegmentDescriptor& d, const LadderRung& rung, EncodeObserver* observer = nullptr);
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
  EncodeObserver* observer_;
  std::string part_;
  RungScaler scaler_;
  av::Packet pkt_;
  std::unique_ptr<hw::VideoEncoder> encoder_;
  std::unique_ptr<SegmentWriter> writer_;
  int frames_ = 0;
};

}  // namespace pvt
