// The file a worker writes one encoded segment (or one ladder rung of it) to: MP4 without an edit list,
// which keeps every packet's pts and dts (shifted as a whole so the first dts is 0; the assembler puts
// the segment back on its start_pts).
#pragma once

#include <cstdint>
#include <string>

#include "av_handles.hpp"

namespace pvt {

class SegmentWriter {
 public:
  SegmentWriter(const std::string& path, const AVCodecContext* enc);
  void write(AVPacket* pkt);
  void finish();
  std::int64_t bytes() const { return bytes_; }
  int packets() const { return packets_; }

 private:
  std::string path_;
  av::OutputFormat fmt_;
  AVStream* st_ = nullptr;
  AVRational enc_tb_{1, 1};
  std::int64_t bytes_ = 0;
  int packets_ = 0;
};

}  // namespace pvt
