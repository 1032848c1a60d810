#include "ladder_rung.hpp"

#include <cmath>
#include <filesystem>

#include "atomic_file.hpp"
#include "error.hpp"
#include "segment_worker.hpp"

namespace pvt {

int ladder_width(int height, int frame_width, int frame_height, AVRational sample_aspect) {
  const double sar = sample_aspect.num > 0 && sample_aspect.den > 0 ? av_q2d(sample_aspect) : 1.0;
  const double displayed = frame_width * sar / frame_height;
  return std::max(2, 2 * static_cast<int>(std::lround(height * displayed / 2)));
}

LadderRungEncoder::LadderRungEncoder(const SegmentDescriptor& d, const LadderRung& rung)
    : d_(d), rung_(rung), part_(rung.output + ".part"), pkt_(av::make_packet()) {
  std::filesystem::remove(part_);
}

LadderRungEncoder::~LadderRungEncoder() {
  // An unfinished rung (the segment failed) leaves no partial file behind.
  if (!part_.empty()) {
    writer_.reset();
    std::error_code ec;
    std::filesystem::remove(part_, ec);
  }
}

Error LadderRungEncoder::failure(const std::string& what) const {
  return Error(ErrorCode::kEncode,
               "segment " + std::to_string(d_.segment) + ", " + std::to_string(rung_.height) + "p: " + what);
}

void LadderRungEncoder::open(const AVFrame* top) {
  const int height = rung_.height & ~1;
  const int width = ladder_width(height, top->width, top->height, top->sample_aspect_ratio);
  const auto fmt = static_cast<AVPixelFormat>(top->format);
  sws_.reset(sws_getContext(top->width, top->height, fmt, width, height, fmt, SWS_BICUBIC, nullptr, nullptr,
                            nullptr));
  if (!sws_) throw failure("cannot scale to this size");
  scaled_ = av::make_frame();
  scaled_->format = fmt;
  scaled_->width = width;
  scaled_->height = height;
  check_av(av_frame_get_buffer(scaled_.get(), 0), ErrorCode::kInternal, "frame allocation");
  av_frame_copy_props(scaled_.get(), top);
  scaled_->sample_aspect_ratio = {1, 1};
  try {
    encoder_ = hw::open_encoder(d_.encoder.backend, encoder_config(d_, scaled_.get()));
  } catch (const hw::BackendError& e) {
    throw failure(e.what());
  }
  writer_ = std::make_unique<SegmentWriter>(part_, encoder_->context());
}

void LadderRungEncoder::drain() {
  try {
    while (encoder_->receive(pkt_.get())) {
      writer_->write(pkt_.get());
      av_packet_unref(pkt_.get());
    }
  } catch (const hw::BackendError& e) {
    throw failure(e.what());
  }
}

void LadderRungEncoder::send(const AVFrame* top, bool idr) {
  if (!encoder_) open(top);
  // The encoder may still hold the last frame's buffer by reference: write into a fresh one when so.
  check_av(av_frame_make_writable(scaled_.get()), ErrorCode::kInternal, "frame allocation");
  sws_scale(sws_.get(), top->data, top->linesize, 0, top->height, scaled_->data, scaled_->linesize);
  av_frame_copy_props(scaled_.get(), top);
  scaled_->sample_aspect_ratio = {1, 1};
  try {
    encoder_->send(scaled_.get(), idr);
  } catch (const hw::BackendError& e) {
    throw failure(e.what());
  }
  ++frames_;
  drain();
}

void LadderRungEncoder::finish() {
  if (!encoder_) throw failure("no frame reached this rung");
  try {
    encoder_->send(nullptr, false);
  } catch (const hw::BackendError& e) {
    throw failure(e.what());
  }
  drain();
  writer_->finish();
  if (writer_->packets() != frames_)
    throw failure("the encoder gave " + std::to_string(writer_->packets()) + " packets for " +
                  std::to_string(frames_) + " frames");
}

void LadderRungEncoder::publish() {
  rename_or_throw(part_, rung_.output);
  part_.clear();
}

RungStats LadderRungEncoder::stats() const {
  RungStats s;
  s.width = scaled_ ? scaled_->width : 0;
  s.height = scaled_ ? scaled_->height : 0;
  s.frames = frames_;
  s.bytes = writer_ ? writer_->bytes() : 0;
  return s;
}

}  // namespace pvt
