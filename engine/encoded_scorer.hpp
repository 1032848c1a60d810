// Target quality: scores an encoder's output as it is produced. The frames given to the encoder are kept
// (references, no copies) until the encoder's packets, decoded again by an independent decoder, come back
// in presentation order; each pair goes to the QualityMeter. Used for the probe encodes and for the
// final one, whose score is the file's: exactly the packets written, decoded as a player would.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "av_handles.hpp"
#include "quality_metric.hpp"

namespace pvt {

class EncodedScorer {
 public:
  // `encoder`: the open encoder's context (codec and headers for the decoder).
  EncodedScorer(const AVCodecContext* encoder, const std::string& metric, const std::string& log_dir);

  // A frame given to the encoder, in the order given; an unscored one is decoded but not measured.
  void reference(const AVFrame* sent, bool scored = true);
  void packet(const AVPacket* pkt);  // a packet kept from the encoder, in decode order
  // Flushes the decoder; per-frame scores in presentation order. Throws Error(kEncode) when the
  // decoded frames do not match the frames sent one for one.
  std::vector<double> finish();

 private:
  void receive();

  av::CodecContext decoder_;
  QualityMeter meter_;
  std::deque<av::Frame> references_;
  std::deque<bool> scored_;
  av::Frame decoded_;
  int unmatched_ = 0;
};

}  // namespace pvt
