// A libavfilter graph between the decoder and the encoder, for the conversions the output plan decides on
// (rotation into the pixels, HDR tone-mapping). One frame in gives one frame out: the filters used are
// all 1:1, so frame-accurate segments stay frame-accurate.
#pragma once

#include <string>

#include "av_handles.hpp"

namespace pvt {

class VideoFilter {
 public:
  // description: a libavfilter chain ("transpose=clock"); the graph is built on the first frame, whose
  // size, format and aspect ratio it is configured for.
  VideoFilter(std::string description, AVRational time_base);

  // The filtered frame (owned by the filter, valid until the next call), or `in` itself when the
  // description is empty. Throws Error(kEncode) when the graph refuses the frame or yields none.
  AVFrame* apply(AVFrame* in);

 private:
  void build(const AVFrame* first);

  std::string description_;
  AVRational time_base_;
  av::FilterGraph graph_;
  AVFilterContext* src_ = nullptr;
  AVFilterContext* sink_ = nullptr;
  av::Frame out_;
  int width_ = 0, height_ = 0, format_ = -1;  // what the graph was built for
};

}  // namespace pvt
