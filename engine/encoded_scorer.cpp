#include "encoded_scorer.hpp"

#include "error.hpp"

namespace pvt {

EncodedScorer::EncodedScorer(const AVCodecContext* encoder, const std::string& metric,
                             const std::string& log_dir)
    : meter_(metric, log_dir), decoded_(av::make_frame()) {
  const AVCodec* codec = avcodec_find_decoder(encoder->codec_id);
  if (!codec) throw Error(ErrorCode::kInternal, "no decoder to measure the encoder's output");
  decoder_.reset(avcodec_alloc_context3(codec));
  if (!decoder_) throw std::bad_alloc();
  av::CodecParameters par(avcodec_parameters_alloc());
  if (!par) throw std::bad_alloc();
  check_av(avcodec_parameters_from_context(par.get(), encoder), ErrorCode::kInternal, "measuring decoder");
  check_av(avcodec_parameters_to_context(decoder_.get(), par.get()), ErrorCode::kInternal,
           "measuring decoder");
  decoder_->pkt_timebase = encoder->time_base;
  decoder_->thread_count = 1;
  check_av(avcodec_open2(decoder_.get(), codec, nullptr), ErrorCode::kInternal, "measuring decoder");
}

void EncodedScorer::reference(const AVFrame* sent, bool scored) {
  av::Frame f(av_frame_clone(sent));
  if (!f) throw std::bad_alloc();
  references_.push_back(std::move(f));
  scored_.push_back(scored);
}

void EncodedScorer::packet(const AVPacket* pkt) {
  check_av(avcodec_send_packet(decoder_.get(), pkt), ErrorCode::kEncode, "decoding the encoded segment");
  receive();
}

void EncodedScorer::receive() {
  while (avcodec_receive_frame(decoder_.get(), decoded_.get()) >= 0) {
    if (references_.empty()) {
      ++unmatched_;
    } else {
      if (scored_.front()) meter_.add(decoded_.get(), references_.front().get());
      references_.pop_front();
      scored_.pop_front();
    }
    av_frame_unref(decoded_.get());
  }
}

std::vector<double> EncodedScorer::finish() {
  avcodec_send_packet(decoder_.get(), nullptr);
  receive();
  if (unmatched_ || !references_.empty())
    throw Error(ErrorCode::kEncode, "measuring quality: the encoded frames do not match the frames sent (" +
                                        std::to_string(references_.size()) + " left, " +
                                        std::to_string(unmatched_) + " extra)");
  return meter_.finish();
}

}  // namespace pvt
