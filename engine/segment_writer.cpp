#include "segment_writer.hpp"

#include "error.hpp"

extern "C" {
#include <libavformat/avformat.h>
}

namespace pvt {

SegmentWriter::SegmentWriter(const std::string& path, const AVCodecContext* enc) : path_(path) {
  AVFormatContext* raw = nullptr;
  check_av(avformat_alloc_output_context2(&raw, nullptr, "mp4", path.c_str()), ErrorCode::kOutput, path);
  fmt_.reset(raw);
  st_ = avformat_new_stream(fmt_.get(), nullptr);
  if (!st_) throw std::bad_alloc();
  check_av(avcodec_parameters_from_context(st_->codecpar, enc), ErrorCode::kInternal, "segment stream");
  st_->time_base = enc->time_base;
  enc_tb_ = enc->time_base;
  check_av(avio_open(&fmt_->pb, path.c_str(), AVIO_FLAG_WRITE), ErrorCode::kOutput, path);
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "use_editlist", "0", 0);
  const int ret = avformat_write_header(fmt_.get(), &opts);
  av_dict_free(&opts);
  check_av(ret, ErrorCode::kOutput, path);
}

void SegmentWriter::write(AVPacket* pkt) {
  bytes_ += pkt->size;
  ++packets_;
  av_packet_rescale_ts(pkt, enc_tb_, st_->time_base);
  pkt->stream_index = 0;
  check_av(av_interleaved_write_frame(fmt_.get(), pkt), ErrorCode::kOutput, path_);
}

void SegmentWriter::finish() {
  check_av(av_write_trailer(fmt_.get()), ErrorCode::kOutput, path_);
  check_av(avio_closep(&fmt_->pb), ErrorCode::kOutput, path_);
}

}  // namespace pvt
