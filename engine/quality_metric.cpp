#include "quality_metric.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "error.hpp"

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
}

namespace pvt {

namespace {

const char* filter_name(const std::string& metric) {
  return metric == "vmaf" ? "libvmaf" : metric == "psnr" ? "psnr" : "ssim";
}

// The per-frame score the filter attaches to its output frame (ssim, psnr; libvmaf logs to a file).
double frame_score(const std::string& metric, const AVFrame* f) {
  const char* key = metric == "psnr" ? "lavfi.psnr.psnr_avg" : "lavfi.ssim.All";
  const AVDictionaryEntry* e = av_dict_get(f->metadata, key, nullptr, 0);
  if (!e) throw Error(ErrorCode::kInternal, std::string(filter_name(metric)) + " filter gave no score");
  const double v = std::strtod(e->value, nullptr);
  if (metric == "psnr" && !std::isfinite(v)) return 100;  // identical frames
  return v;
}

std::string buffer_args(const AVFrame* f, AVRational tb) {
  const AVRational sar = f->sample_aspect_ratio.num > 0 ? f->sample_aspect_ratio : AVRational{1, 1};
  return "video_size=" + std::to_string(f->width) + "x" + std::to_string(f->height) +
         ":pix_fmt=" + std::to_string(f->format) + ":time_base=" + std::to_string(tb.num) + "/" +
         std::to_string(tb.den) + ":pixel_aspect=" + std::to_string(sar.num) + "/" + std::to_string(sar.den);
}

}  // namespace

std::vector<std::string> available_metrics() {
  std::vector<std::string> m;
  for (const char* name : {"ssim", "psnr", "vmaf"})
    if (avfilter_get_by_name(filter_name(name))) m.push_back(name);
  return m;
}

bool metric_available(const std::string& metric) {
  for (const auto& m : available_metrics())
    if (m == metric) return true;
  return false;
}

QualityMeter::QualityMeter(std::string metric, std::string log_dir) : metric_(std::move(metric)) {
  if (metric_ == "vmaf")
    vmaf_log_ = (std::filesystem::path(log_dir) / ("vmaf-" + std::to_string(getpid()) + ".json")).string();
}

QualityMeter::~QualityMeter() {
  if (!vmaf_log_.empty()) {
    std::error_code ec;
    std::filesystem::remove(vmaf_log_, ec);
  }
}

void QualityMeter::build(const AVFrame* f) {
  graph_.reset(avfilter_graph_alloc());
  if (!graph_) throw std::bad_alloc();
  graph_->nb_threads = 1;
  const AVRational tb{1, 25};  // the meter's own clock: frames are paired by order
  const std::string args = buffer_args(f, tb);
  auto make = [&](AVFilterContext** ctx, const char* filter, const char* name, const char* opts) {
    check_av(
        avfilter_graph_create_filter(ctx, avfilter_get_by_name(filter), name, opts, nullptr, graph_.get()),
        ErrorCode::kInternal, std::string("quality metric ") + filter);
  };
  make(&encoded_src_, "buffer", "encoded", args.c_str());
  make(&source_src_, "buffer", "source", args.c_str());
  AVFilterContext* metric = nullptr;
  const std::string opts = metric_ == "vmaf" ? "log_fmt=json:log_path=" + vmaf_log_ : "";
  make(&metric, filter_name(metric_), "metric", opts.empty() ? nullptr : opts.c_str());
  make(&sink_, "buffersink", "out", nullptr);
  // The first input is the one measured ("main"), the second the reference.
  check_av(avfilter_link(encoded_src_, 0, metric, 0), ErrorCode::kInternal, "quality metric link");
  check_av(avfilter_link(source_src_, 0, metric, 1), ErrorCode::kInternal, "quality metric link");
  check_av(avfilter_link(metric, 0, sink_, 0), ErrorCode::kInternal, "quality metric link");
  check_av(avfilter_graph_config(graph_.get(), nullptr), ErrorCode::kInternal, "quality metric graph");
}

void QualityMeter::add(const AVFrame* encoded, const AVFrame* source) {
  if (!graph_) build(source);
  // Copies of the references: the graph keeps its own, with the meter's timestamps.
  av::Frame e(av_frame_clone(encoded)), s(av_frame_clone(source));
  if (!e || !s) throw std::bad_alloc();
  e->pts = s->pts = next_pts_++;
  av_dict_free(&e->metadata);
  check_av(av_buffersrc_add_frame(encoded_src_, e.get()), ErrorCode::kInternal, "quality metric input");
  check_av(av_buffersrc_add_frame(source_src_, s.get()), ErrorCode::kInternal, "quality metric input");
  drain();
}

void QualityMeter::drain() {
  av::Frame out = av::make_frame();
  while (av_buffersink_get_frame(sink_, out.get()) >= 0) {
    if (metric_ != "vmaf") scores_.push_back(frame_score(metric_, out.get()));
    av_frame_unref(out.get());
  }
}

std::vector<double> QualityMeter::finish() {
  if (!graph_) return {};
  check_av(av_buffersrc_add_frame(encoded_src_, nullptr), ErrorCode::kInternal, "quality metric flush");
  check_av(av_buffersrc_add_frame(source_src_, nullptr), ErrorCode::kInternal, "quality metric flush");
  drain();
  if (metric_ == "vmaf") {
    graph_.reset();  // libvmaf writes its log as it is freed
    std::ifstream in(vmaf_log_);
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("frames"))
      throw Error(ErrorCode::kInternal, "libvmaf wrote no per-frame log to " + vmaf_log_);
    for (const auto& f : j["frames"]) scores_.push_back(f.at("metrics").at("vmaf").get<double>());
  }
  return scores_;
}

}  // namespace pvt
