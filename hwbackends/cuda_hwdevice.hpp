// FFmpeg's CUDA device, where NVDEC decodes frames for the CUDA analysis kernels, and what it can decode.
//
// The device is opened on the CUDA primary context of device 0: the CUDA runtime (kernels/cuda) uses
// that same context, so the kernels can read the decoded surfaces in place.
#pragma once

#include <memory>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/buffer.h>
}

namespace pvt::hw {

struct NvdecProbe {
  bool usable = false;              // FFmpeg opened a CUDA device and has NVDEC decoders
  std::string reason;               // why not (FFmpeg's text), empty when usable
  std::vector<std::string> codecs;  // decoders FFmpeg can run on NVDEC ("h264", "hevc", ...)
};

NvdecProbe probe_nvdec();

// True when FFmpeg's decoder for `codec` can output CUDA frames from NVDEC.
bool nvdec_decodes(AVCodecID codec);

class CudaHwDevice {
 public:
  // Throws BackendError with FFmpeg's reason when no CUDA device opens.
  static std::shared_ptr<CudaHwDevice> open();
  ~CudaHwDevice();
  CudaHwDevice(const CudaHwDevice&) = delete;
  CudaHwDevice& operator=(const CudaHwDevice&) = delete;
  AVBufferRef* ref() const { return ref_; }  // for AVCodecContext::hw_device_ctx (take a new reference)

 private:
  explicit CudaHwDevice(AVBufferRef* ref) : ref_(ref) {}
  AVBufferRef* ref_;
};

}  // namespace pvt::hw
