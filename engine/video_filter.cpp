#include "video_filter.hpp"

#include "error.hpp"

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/pixdesc.h>
}

namespace pvt {

namespace {

// avfilter_inout_free on every exit path.
struct InOutDeleter {
  void operator()(AVFilterInOut* io) const { avfilter_inout_free(&io); }
};
using InOut = std::unique_ptr<AVFilterInOut, InOutDeleter>;

}  // namespace

VideoFilter::VideoFilter(std::string description, AVRational time_base)
    : description_(std::move(description)), time_base_(time_base) {}

void VideoFilter::build(const AVFrame* f) {
  graph_.reset(avfilter_graph_alloc());
  if (!graph_) throw std::bad_alloc();
  graph_->nb_threads = 1;  // the encoder has the worker's threads
  const AVRational sar = f->sample_aspect_ratio.num > 0 ? f->sample_aspect_ratio : AVRational{1, 1};
  const std::string args = "video_size=" + std::to_string(f->width) + "x" + std::to_string(f->height) +
                           ":pix_fmt=" + std::to_string(f->format) +
                           ":time_base=" + std::to_string(time_base_.num) + "/" +
                           std::to_string(time_base_.den) + ":pixel_aspect=" + std::to_string(sar.num) + "/" +
                           std::to_string(sar.den);
  check_av(avfilter_graph_create_filter(&src_, avfilter_get_by_name("buffer"), "in", args.c_str(), nullptr,
                                        graph_.get()),
           ErrorCode::kEncode, "video filter source");
  check_av(avfilter_graph_create_filter(&sink_, avfilter_get_by_name("buffersink"), "out", nullptr, nullptr,
                                        graph_.get()),
           ErrorCode::kEncode, "video filter sink");
  InOut outputs(avfilter_inout_alloc()), inputs(avfilter_inout_alloc());
  if (!outputs || !inputs) throw std::bad_alloc();
  outputs->name = av_strdup("in");
  outputs->filter_ctx = src_;
  inputs->name = av_strdup("out");
  inputs->filter_ctx = sink_;
  AVFilterInOut* in_raw = inputs.release();
  AVFilterInOut* out_raw = outputs.release();
  const int ret = avfilter_graph_parse_ptr(graph_.get(), description_.c_str(), &in_raw, &out_raw, nullptr);
  avfilter_inout_free(&in_raw);
  avfilter_inout_free(&out_raw);
  check_av(ret, ErrorCode::kEncode, "video filter '" + description_ + "'");
  check_av(avfilter_graph_config(graph_.get(), nullptr), ErrorCode::kEncode,
           "video filter '" + description_ + "'");
}

AVFrame* VideoFilter::apply(AVFrame* in) {
  if (description_.empty()) return in;
  // Damaged or joined input can change size or format mid-stream: a graph configured for the old
  // frames would read past the new ones' planes, so it is built again for them.
  if (!graph_ || in->width != width_ || in->height != height_ || in->format != format_) {
    build(in);
    width_ = in->width;
    height_ = in->height;
    format_ = in->format;
  }
  check_av(av_buffersrc_add_frame_flags(src_, in, AV_BUFFERSRC_FLAG_KEEP_REF), ErrorCode::kEncode,
           "video filter input");
  out_ = av::make_frame();
  const int ret = av_buffersink_get_frame(sink_, out_.get());
  if (ret < 0)
    throw Error(ErrorCode::kEncode, "video filter '" + description_ + "' gave no frame for frame pts " +
                                        std::to_string(in->pts) + " (" + av_error_text(ret) + ")");
  return out_.get();
}

}  // namespace pvt
