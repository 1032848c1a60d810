#include "cuda_hwdevice.hpp"

#include "video_encoder.hpp"  // BackendError

extern "C" {
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/hwcontext.h>
}

namespace pvt::hw {

namespace {

std::string av_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

// av_hwdevice_ctx_create for CUDA device 0 on its primary context; returns the FFmpeg error code.
int create_device(AVBufferRef** ref) {
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "primary_ctx", "1", 0);
  const int ret = av_hwdevice_ctx_create(ref, AV_HWDEVICE_TYPE_CUDA, "0", opts, 0);
  av_dict_free(&opts);
  return ret;
}

}  // namespace

bool nvdec_decodes(AVCodecID codec) {
  const AVCodec* dec = avcodec_find_decoder(codec);
  if (!dec) return false;
  for (int i = 0;; ++i) {
    const AVCodecHWConfig* c = avcodec_get_hw_config(dec, i);
    if (!c) return false;
    if (c->device_type == AV_HWDEVICE_TYPE_CUDA && (c->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
        c->pix_fmt == AV_PIX_FMT_CUDA)
      return true;
  }
}

NvdecProbe probe_nvdec() {
  NvdecProbe p;
  for (AVCodecID id : {AV_CODEC_ID_H264, AV_CODEC_ID_HEVC, AV_CODEC_ID_AV1, AV_CODEC_ID_VP9, AV_CODEC_ID_VP8,
                       AV_CODEC_ID_MPEG2VIDEO, AV_CODEC_ID_MPEG4, AV_CODEC_ID_VC1, AV_CODEC_ID_MJPEG})
    if (nvdec_decodes(id)) p.codecs.push_back(avcodec_get_name(id));
  if (p.codecs.empty()) {
    p.reason = "this FFmpeg was built without NVDEC (no decoder offers CUDA frames)";
    return p;
  }
  AVBufferRef* ref = nullptr;
  if (const int ret = create_device(&ref); ret < 0) {
    p.reason = "FFmpeg cannot open a CUDA device (" + av_text(ret) + ")";
    return p;
  }
  av_buffer_unref(&ref);
  p.usable = true;
  return p;
}

std::shared_ptr<CudaHwDevice> CudaHwDevice::open() {
  AVBufferRef* ref = nullptr;
  if (const int ret = create_device(&ref); ret < 0)
    throw BackendError("FFmpeg cannot open a CUDA device for NVDEC (" + av_text(ret) + ")");
  return std::shared_ptr<CudaHwDevice>(new CudaHwDevice(ref));
}

CudaHwDevice::~CudaHwDevice() {
  av_buffer_unref(&ref_);
}

}  // namespace pvt::hw
