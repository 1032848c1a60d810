#include "still_image.hpp"

#include <new>
#include <string>

#include "av_handles.hpp"
#include "error.hpp"

namespace pvt {

namespace {

av::CodecContext open_encoder(AVCodecID id, const AVFrame& picture, int qscale) {
  const AVCodec* codec = avcodec_find_encoder(id);
  const std::string name = avcodec_get_name(id);
  if (!codec) throw Error(ErrorCode::kInternal, "FFmpeg has no " + name + " encoder");
  av::CodecContext enc(avcodec_alloc_context3(codec));
  if (!enc) throw std::bad_alloc();
  enc->width = picture.width;
  enc->height = picture.height;
  enc->pix_fmt = static_cast<AVPixelFormat>(picture.format);
  enc->color_range = picture.color_range;
  enc->time_base = {1, 1};  // one picture: any time base will do, but the encoder needs one
  if (qscale > 0) {
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * qscale;
  }
  check_av(avcodec_open2(enc.get(), codec, nullptr), ErrorCode::kInternal,
           "opening the " + name + " encoder");
  return enc;
}

}  // namespace

std::vector<std::uint8_t> encode_still(AVCodecID id, AVFrame& picture, int qscale) {
  av::CodecContext enc = open_encoder(id, picture, qscale);
  picture.pts = 0;
  // With a fixed quantiser the mpegvideo encoders (mjpeg) take each frame's own quality, not the context's.
  picture.quality = enc->global_quality;
  const std::string what = std::string("encoding the ") + avcodec_get_name(id) + " image";
  check_av(avcodec_send_frame(enc.get(), &picture), ErrorCode::kInternal, what);
  check_av(avcodec_send_frame(enc.get(), nullptr), ErrorCode::kInternal, what);
  std::vector<std::uint8_t> bytes;
  av::Packet pkt = av::make_packet();
  while (true) {
    const int ret = avcodec_receive_packet(enc.get(), pkt.get());
    if (ret == AVERROR_EOF) break;
    check_av(ret, ErrorCode::kInternal, what);
    bytes.insert(bytes.end(), pkt->data, pkt->data + pkt->size);
    av_packet_unref(pkt.get());
  }
  if (bytes.empty()) throw Error(ErrorCode::kInternal, what + ": the encoder returned nothing");
  return bytes;
}

}  // namespace pvt
