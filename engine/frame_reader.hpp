// Decodes video frames from a given presentation timestamp on, in presentation order. Seeks to the
// keyframe at or before it and drops what comes earlier, so a caller sees exactly the frames it asked
// for whatever the GOP structure (B-frames, open GOPs, leading pictures).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "av_handles.hpp"

namespace pvt {

struct SeekPoint {
  std::int64_t pts = 0;
  std::int64_t dts = AV_NOPTS_VALUE;  // AV_NOPTS_VALUE when the container has no decode timestamps
};

class FrameReader {
 public:
  struct Options {
    int threads = 1;           // decoder threads (frame threading)
    bool fast_decode = false;  // skip the loop filter: for analysis, which looks at a reduced plane
    // FFmpeg's CUDA device (hw::CudaHwDevice): decode on NVDEC into AV_PIX_FMT_CUDA frames when the codec
    // allows, else in software as without it. Null: software decoding.
    AVBufferRef* cuda_device = nullptr;
  };

  FrameReader(const std::string& path, int video_stream, Options options);

  // Positions the reader so the next frame returned is the first with pts >= first_pts.
  // keyframes: candidate entry points at or before first_pts, ascending; the last is tried first and,
  // if the demuxer lands too late, earlier ones, then the start of the file. Empty: decode from the start.
  void start_at(std::int64_t first_pts, const std::vector<SeekPoint>& keyframes);

  // Next frame with pts >= first_pts, or nullptr at the end of the stream. The frame is owned by the
  // reader and valid until the next call; its pts is in the stream's time base. Pts strictly increase:
  // a frame of damaged input that goes back in time (or repeats one) is dropped.
  AVFrame* next();

  std::int64_t decoded_frames() const { return decoded_; }
  const AVCodecContext* codec() const { return dec_.get(); }
  AVRational time_base() const;

 private:
  void open_decoder();
  void seek(int candidate);
  bool feed_decoder();  // false once the demuxer and the decoder are drained

  std::string path_;
  int video_stream_;
  Options options_;
  av::InputFormat fmt_;
  av::CodecContext dec_;
  av::Packet pkt_ = av::make_packet();
  av::Frame frame_ = av::make_frame();
  std::int64_t first_pts_ = INT64_MIN;
  std::int64_t last_pts_ = INT64_MIN;  // of the last frame returned since the last seek
  std::vector<SeekPoint> candidates_;
  int candidate_ = -1;  // index into candidates_, -1: start of file
  bool checked_landing_ = true;
  bool wait_for_key_ = false;
  bool draining_ = false;
  bool finished_ = false;
  bool touched_ = false;
  std::int64_t decoded_ = 0;
};

}  // namespace pvt
