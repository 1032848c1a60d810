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

av::Frame RungScaler::scale(const AVFrame* decoded, AVPixelFormat target) {
  if (width_ == 0)
    width_ = ladder_width(height_, decoded->width, decoded->height, decoded->sample_aspect_ratio);
  // yuvj formats are their yuv twins in full range: read as those, so the range is kept, not squeezed.
  const auto from = av::scaler_source_format(static_cast<AVPixelFormat>(decoded->format), target);
  // sws_getCachedContext keeps the context while the source's size and format stay the same.
  sws_.reset(sws_getCachedContext(sws_.release(), decoded->width, decoded->height, from, width_, height_,
                                  target, SWS_BICUBIC, nullptr, nullptr, nullptr));
  if (!sws_) throw Error(ErrorCode::kEncode, "cannot scale to this size");
  av::Frame out = av::make_frame();
  out->format = target;
  out->width = width_;
  out->height = height_;
  check_av(av_frame_get_buffer(out.get(), 0), ErrorCode::kInternal, "frame allocation");
  sws_scale(sws_.get(), decoded->data, decoded->linesize, 0, decoded->height, out->data, out->linesize);
  av_frame_copy_props(out.get(), decoded);
  if (from != static_cast<AVPixelFormat>(decoded->format)) out->color_range = AVCOL_RANGE_JPEG;
  out->sample_aspect_ratio = {1, 1};
  return out;
}

hw::EncoderConfig rung_encoder_config(const SegmentDescriptor& d, const LadderRung& rung,
                                      const AVFrame* frame) {
  hw::EncoderConfig cfg = encoder_config(d, frame);
  cfg.max_bitrate = rung.max_bitrate;
  if (rung.crf >= 0) cfg.crf = rung.crf;
  return cfg;
}

LadderRungEncoder::LadderRungEncoder(const SegmentDescriptor& d, const LadderRung& rung,
                                     EncodeObserver* observer)
    : d_(d),
      rung_(rung),
      observer_(observer),
      part_(rung.output + ".part"),
      scaler_(rung.height),
      pkt_(av::make_packet()) {
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

av::Frame LadderRungEncoder::scale(const AVFrame* decoded, AVPixelFormat target) {
  try {
    return scaler_.scale(decoded, target);
  } catch (const Error& e) {
    throw failure(e.what());
  }
}

void LadderRungEncoder::open(const AVFrame* scaled) {
  try {
    encoder_ = hw::open_encoder(d_.encoder.backend, rung_encoder_config(d_, rung_, scaled));
  } catch (const hw::BackendError& e) {
    throw failure(e.what());
  }
  writer_ = std::make_unique<SegmentWriter>(part_, encoder_->context());
  if (observer_) observer_->opened(encoder_->context());
}

void LadderRungEncoder::drain() {
  try {
    while (encoder_->receive(pkt_.get())) {
      if (observer_) observer_->kept(pkt_.get());
      writer_->write(pkt_.get());
      av_packet_unref(pkt_.get());
    }
  } catch (const hw::BackendError& e) {
    throw failure(e.what());
  }
}

void LadderRungEncoder::send(AVFrame* scaled, bool idr) {
  if (!encoder_) open(scaled);
  try {
    if (observer_) observer_->sent(scaled);
    encoder_->send(scaled, idr);
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
  s.width = scaler_.width();
  s.height = scaler_.height();
  s.frames = frames_;
  s.bytes = writer_ ? writer_->bytes() : 0;
  return s;
}

}  // namespace pvt
