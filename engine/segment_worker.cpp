#include "segment_worker.hpp"

#include <malloc.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "analysis_backend.hpp"
#include "atomic_file.hpp"
#include "error.hpp"
#include "frame_analysis.hpp"
#include "frame_reader.hpp"
#include "ladder_rung.hpp"
#include "quality_segment.hpp"
#include "scene_detector.hpp"
#include "scene_metrics.hpp"
#include "segment_writer.hpp"
#include "video_encoder.hpp"
#include "video_filter.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace pvt {

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Short segments take fewer, but at least the two an I-frame QP needs (an I and a P): 4 frames of a
// 50-frame segment cost 8 % more CPU (benchmarks/worker_startup.py), one every 60 frames about 1.7 %.
int preroll_frames(const SegmentDescriptor& d) {
  const bool cpu_encoder = d.encoder.backend == "x264" || d.encoder.backend == "x265";
  const int wanted = std::clamp(d.encoder.preroll, 0, 64);
  if (!cpu_encoder || d.encoder.bitrate != 0) return 0;
  if (wanted <= 2) return wanted;
  return std::clamp(d.frame_count() / 60, 2, wanted);
}

namespace {

struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

double cpu_seconds() {
  return process_cpu_seconds();
}

// One item of PVT_FAULT ("KIND:SEG[:ATTEMPTS]") against this worker.
bool fault_item_matches(const std::string& item, const std::string& kind, int segment, int attempt) {
  if (item.rfind(kind + ":", 0) != 0) return false;
  const std::string rest = item.substr(kind.size() + 1);
  const auto colon = rest.find(':');
  try {
    if (std::stoi(rest.substr(0, colon)) != segment) return false;
    if (colon == std::string::npos) return true;
    return attempt <= std::stoi(rest.substr(colon + 1));
  } catch (...) {
    return false;
  }
}

// PVT_FAULT holds one or more comma-separated items.
bool fault_matches(const char* spec, const std::string& kind, int segment, int attempt) {
  if (!spec) return false;
  std::string s(spec);
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item == kind || fault_item_matches(item, kind, segment, attempt)) return true;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return false;
}

int current_attempt() {
  const char* a = std::getenv("PVT_WORKER_ATTEMPT");
  return a ? std::atoi(a) : 1;
}

// Converts decoded frames to what the encoder takes: its pixel format (10-bit, 4:2:2, ... become 8-bit
// 4:2:0) and even dimensions (4:2:0 cannot have odd ones: an odd last row or column is cropped).
class PixelConverter {
 public:
  // The first frame fixes the size; a later frame of another size or format (damaged or joined input)
  // is scaled to it by a scaler made for that frame: one made for another geometry would read past the
  // frame's planes, and the encoder refuses a frame of another size.
  // A ladder's rung 0: frames scaled to this height (the width from the displayed aspect, square pixels).
  explicit PixelConverter(int height = 0) : wanted_height_(height & ~1) {}

  AVFrame* convert(AVFrame* in, AVPixelFormat target) {
    if (width_ == 0) {
      width_ = in->width & ~1;
      height_ = in->height & ~1;
      // Square pixels in every rung (the master playlist's RESOLUTION is what is shown), so an anamorphic
      // source is scaled even at its own height.
      const AVRational sar = in->sample_aspect_ratio;
      const bool square = sar.num <= 0 || sar.num == sar.den;
      if (wanted_height_ > 0 && (wanted_height_ != height_ || !square)) {
        height_ = wanted_height_;
        width_ = ladder_width(height_, in->width, in->height, in->sample_aspect_ratio);
        square_pixels_ = true;
      }
    }
    const int w = width_, h = height_;
    const bool same_size = (in->width & ~1) == w && (in->height & ~1) == h;
    // yuvj formats are their yuv twins in full range: relabelled, not converted, so the output keeps the
    // input's full range (swscale would squeeze it into limited range under the input's full-range tag).
    if (same_size && av::plain_format(static_cast<AVPixelFormat>(in->format)) == target &&
        static_cast<AVPixelFormat>(in->format) != target) {
      out_.reset(av_frame_clone(in));
      if (!out_) throw std::bad_alloc();
      out_->format = target;
      out_->color_range = AVCOL_RANGE_JPEG;
      out_->width = w;
      out_->height = h;
      return out_.get();
    }
    if (in->format == target && same_size) {
      if (w == in->width && h == in->height) return in;
      out_.reset(av_frame_clone(in));
      if (!out_) throw std::bad_alloc();
      out_->width = w;
      out_->height = h;
      return out_.get();
    }
    // The source: the even part of a frame of the first size (cropped, as above), all of any other.
    const int src_w = same_size ? w : in->width, src_h = same_size ? h : in->height;
    // A yuvj source scaled (a ladder's rung 0) is read as its yuv twin too, so its full range is kept:
    // read as yuvj, swscale squeezed it into limited range under the full-range tag (a full-range clip's
    // rung 0 came out with luma 34-237 where the source had 18-255).
    const auto from = av::scaler_source_format(static_cast<AVPixelFormat>(in->format), target);
    const bool relabel = from != static_cast<AVPixelFormat>(in->format);
    // sws_getCachedContext keeps the context while the source's size and format stay the same.
    sws_.reset(sws_getCachedContext(sws_.release(), src_w, src_h, from, w, h, target, SWS_BICUBIC, nullptr,
                                    nullptr, nullptr));
    if (!sws_) throw Error(ErrorCode::kEncode, "cannot convert pixel format for the encoder");
    out_ = av::make_frame();
    out_->format = target;
    out_->width = w;
    out_->height = h;
    check_av(av_frame_get_buffer(out_.get(), 0), ErrorCode::kInternal, "frame allocation");
    sws_scale(sws_.get(), in->data, in->linesize, 0, src_h, out_->data, out_->linesize);
    av_frame_copy_props(out_.get(), in);
    if (relabel) out_->color_range = AVCOL_RANGE_JPEG;
    if (square_pixels_) out_->sample_aspect_ratio = {1, 1};
    return out_.get();
  }

 private:
  std::unique_ptr<SwsContext, SwsDeleter> sws_;
  av::Frame out_;
  int wanted_height_ = 0;
  int width_ = 0, height_ = 0;  // the encoder's: the first frame's, made even (or the ladder's)
  bool square_pixels_ = false;
};

struct WindowFrame {
  av::Frame frame;
  int index = 0;
  std::vector<av::Frame> rungs;  // a ladder's lower rungs: the same frame at each rung's size
};

}  // namespace

// PVT_FAULT=hw-open[:SEG]: a hardware session fails to open, as a busy GPU would; hw-die[:SEG]: it dies
// halfway through the segment, as a lost GPU would. Without SEG every segment. The pool then re-queues
// the segment on the CPU.
bool hw_fault(const SegmentDescriptor& d, const std::string& kind) {
  return fault_matches(std::getenv("PVT_FAULT"), kind, d.segment, current_attempt());
}

void apply_fault_injection(const SegmentDescriptor& d) {
  if (fault_matches(std::getenv("PVT_FAULT"), "fail", d.segment, current_attempt()))
    throw Error(ErrorCode::kEncode,
                "segment " + std::to_string(d.segment) + ": injected failure (PVT_FAULT)");
}

namespace {

// Faults that strike halfway through the segment: a crash, a hang (no more progress, the watchdog's
// case), or a worker slowed to ~20 frames/s (progress continues: the watchdog must leave it alone).
void mid_segment_fault(const SegmentDescriptor& d, int frames_done) {
  const char* spec = std::getenv("PVT_FAULT");
  if (!spec) return;
  const int attempt = current_attempt();
  if (fault_matches(spec, "slow", d.segment, attempt))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (frames_done != d.frame_count() / 2) return;
  if (fault_matches(spec, "crash", d.segment, attempt)) {
    std::signal(SIGSEGV, SIG_DFL);
    std::raise(SIGSEGV);
  }
  if (fault_matches(spec, "hang", d.segment, attempt))
    while (true) std::this_thread::sleep_for(std::chrono::hours(1));
}

// corrupt:SEG: the finished segment file is damaged after the worker renamed it, as a bad disk or a
// stray writer would: the job's own check of the file must catch it.
void corrupt_output_fault(const SegmentDescriptor& d) {
  if (!fault_matches(std::getenv("PVT_FAULT"), "corrupt", d.segment, current_attempt())) return;
  const auto size = std::filesystem::file_size(d.output);
  std::filesystem::resize_file(d.output, size / 2);
}

}  // namespace

namespace {

// The input, opened for this segment or kept from the session's last one.
FrameReader& open_reader(const SegmentDescriptor& d, WorkerSession* session,
                         std::unique_ptr<FrameReader>& own) {
  const FrameReader::Options options{.threads = d.encoder.threads, .fast_decode = false};
  if (!session) {
    own = std::make_unique<FrameReader>(d.input, d.video_stream, options);
    return *own;
  }
  if (!session->reader || session->input != d.input || session->stream != d.video_stream ||
      session->threads != d.encoder.threads) {
    session->reader.reset();  // the old one's file and decoder go first
    session->reader = std::make_unique<FrameReader>(d.input, d.video_stream, options);
    session->input = d.input;
    session->stream = d.video_stream;
    session->threads = d.encoder.threads;
  }
  return *session->reader;
}

}  // namespace

hw::EncoderConfig encoder_config(const SegmentDescriptor& d, const AVFrame* frame) {
  hw::EncoderConfig cfg;
  cfg.codec = d.encoder.codec;
  cfg.preset = d.encoder.preset;
  cfg.crf = d.encoder.crf;
  cfg.bitrate = d.encoder.bitrate;
  cfg.max_bitrate = d.encoder.max_bitrate;
  cfg.threads = d.encoder.threads;
  cfg.lookahead = d.encoder.lookahead;
  cfg.width = frame->width;
  cfg.height = frame->height;
  cfg.pix_fmt = static_cast<AVPixelFormat>(frame->format);
  cfg.time_base = {d.time_base_num, d.time_base_den};
  cfg.frame_rate = {d.frame_rate_num, d.frame_rate_den};
  // The picture as the filters left it (a tone-map makes it BT.709, a transpose turns the aspect).
  cfg.sample_aspect_ratio = frame->sample_aspect_ratio;
  cfg.color_range = frame->color_range;
  cfg.color_primaries = frame->color_primaries;
  cfg.color_trc = frame->color_trc;
  cfg.colorspace = frame->colorspace;
  cfg.chroma_location = frame->chroma_location;
  cfg.master_display = d.encoder.master_display;
  cfg.max_cll = d.encoder.max_cll;
  return cfg;
}

namespace {

AVPixelFormat encoder_pix_fmt(const SegmentDescriptor& d) {
  const AVPixelFormat f = av_get_pix_fmt(d.encoder.pix_fmt.c_str());
  if (f == AV_PIX_FMT_NONE) throw Error(ErrorCode::kUsage, "unknown pixel format " + d.encoder.pix_fmt);
  return f;
}

}  // namespace

std::vector<av::Frame> read_segment_frames(const SegmentDescriptor& d, WorkerSession* session,
                                           const std::vector<int>& frames,
                                           const std::function<void()>& progress, std::size_t rung) {
  std::unique_ptr<FrameReader> own_reader;
  FrameReader& reader = open_reader(d, session, own_reader);
  std::vector<SeekPoint> entry;
  if (d.seek_keyframe > 0) entry.push_back({d.seek_pts, d.seek_dts});
  reader.start_at(d.start_pts, entry);
  VideoFilter filter(d.video_filter, {d.time_base_num, d.time_base_den});
  PixelConverter converter(d.ladder.empty() ? 0 : d.ladder.front().height);
  std::optional<RungScaler> scaler;
  if (rung > 0) scaler.emplace(d.ladder.at(rung).height);
  const AVPixelFormat target = encoder_pix_fmt(d);
  std::vector<av::Frame> out;
  std::size_t next = 0;
  for (int index = d.start_frame; index < d.end_frame && next < frames.size(); ++index) {
    AVFrame* decoded = reader.next();
    if (!decoded || decoded->pts >= d.end_pts) break;
    if (index % 8 == 0 && progress) progress();
    // Every frame goes through the filter: a stateful one must see them all, as in the encode.
    // Rung 0 converts every frame, as the encode does: the first one fixes the size.
    AVFrame* filtered = filter.apply(decoded);
    AVFrame* frame = scaler ? nullptr : converter.convert(filtered, target);
    if (index != frames[next]) continue;
    if (scaler) {
      out.push_back(scaler->scale(filtered, target));
    } else {
      out.emplace_back(av_frame_clone(frame));
      if (!out.back()) throw std::bad_alloc();
    }
    ++next;
  }
  if (next != frames.size())
    throw Error(ErrorCode::kInput,
                "segment " + std::to_string(d.segment) +
                    ": the decoder gave fewer frames than the index promised (input damaged or truncated?)");
  return out;
}

WorkerStats run_segment_worker(const SegmentDescriptor& d, WorkerSession* session, EncodeObserver* observer,
                               const std::vector<EncodeObserver*>& rung_observers) {
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  apply_fault_injection(d);
  const bool drop_last = fault_matches(std::getenv("PVT_FAULT"), "short", d.segment, current_attempt());
  const std::string part = d.output + ".part";
  std::filesystem::remove(part);

  std::unique_ptr<FrameReader> own_reader;
  FrameReader& reader = open_reader(d, session, own_reader);
  // A session's reader may be anywhere, so it always seeks (or rewinds to the start of the file).
  const std::int64_t decoded_before = reader.decoded_frames();
  std::vector<SeekPoint> entry;
  if (d.seek_keyframe > 0) entry.push_back({d.seek_pts, d.seek_dts});
  reader.start_at(d.start_pts, entry);

  SceneDetector detector({d.scene_threshold, d.min_scene_frames}, d.start_frame);
  std::set<int> forced(d.forced_keyframes.begin(), d.forced_keyframes.end());
  forced.insert(d.start_frame);
  const int window_size = std::max(d.lookahead_window, detector.decision_delay() + 1);

  // The analysis kernels: on a GPU their results come back a batch later, so batches are kept small
  // enough that the window's slack beyond the detector's decision delay usually covers two of them;
  // ensure_known() below makes it exact either way.
  const WarnFn warn = warn_once([&](const std::string& m) {
    std::fprintf(stderr, "pvt: warning: segment %d: %s\n", d.segment, m.c_str());
  });
  const AnalysisEngine analysis = open_analysis_backend(d.analysis_backend, /*want_nvdec=*/false, warn);
  const int batch = std::clamp((window_size - detector.decision_delay() - 1) / 2, 1, 8);
  const auto analyzer = make_analyzer(analysis, batch, warn);
  const bool hold_frames = analysis.kernels->asynchronous();
  std::vector<kernels::AnalysisResult> results;

  WorkerStats stats;
  stats.segment = d.segment;
  stats.backend = d.encoder.backend;
  std::unique_ptr<hw::VideoEncoder> encoder;
  std::unique_ptr<SegmentWriter> writer;
  VideoFilter filter(d.video_filter, {d.time_base_num, d.time_base_den});
  PixelConverter converter(d.ladder.empty() ? 0 : d.ladder.front().height);
  // The ladder's lower rungs, fed from rung 0's frames with the same IDRs.
  std::vector<std::unique_ptr<LadderRungEncoder>> rungs;
  for (std::size_t r = 1; r < d.ladder.size(); ++r)
    rungs.push_back(std::make_unique<LadderRungEncoder>(
        d, d.ladder[r], r - 1 < rung_observers.size() ? rung_observers[r - 1] : nullptr));
  std::deque<WindowFrame> window;
  av::Packet pkt = av::make_packet();
  const AVRational tb{d.time_base_num, d.time_base_den};
  double spatial_sum = 0, temporal_sum = 0;
  int measured = 0;
  int factor = 1;
  const AVPixelFormat target_fmt = av_get_pix_fmt(d.encoder.pix_fmt.c_str());
  if (target_fmt == AV_PIX_FMT_NONE)
    throw Error(ErrorCode::kUsage, "unknown pixel format " + d.encoder.pix_fmt);

  // An encoder error (a lost GPU session) is the segment's failure, with the encoder's words: the pool
  // re-queues a hardware segment on the CPU.
  auto encoder_failed = [&](const hw::BackendError& e) {
    return Error(ErrorCode::kEncode, "segment " + std::to_string(d.segment) + ": " + e.what());
  };
  const bool die_mid_segment = hw::is_hardware_backend(d.encoder.backend) && hw_fault(d, "hw-die");
  // Progress for the job (and its watchdog): frames in and packets out, at most four times a second.
  // Called while draining too, so a long encoder flush still shows life.
  auto report = [&, last = std::chrono::steady_clock::now()](bool force) mutable {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last < std::chrono::milliseconds(250)) return;
    last = now;
    std::printf("{\"frames\":%d,\"packets\":%d}\n", stats.frames, writer ? writer->packets() : 0);
    std::fflush(stdout);
  };
  // Pre-roll (CPU encoders, constant quality): the segment's first frames are encoded once ahead of it,
  // stamped just before its start, and their packets dropped; see EncoderSettings::preroll.
  const int preroll = preroll_frames(d);
  std::int64_t keep_from_pts = std::numeric_limits<std::int64_t>::min();
  auto drain = [&] {
    try {
      while (encoder->receive(pkt.get())) {
        if (pkt->pts < keep_from_pts) {
          av_packet_unref(pkt.get());
          continue;
        }
        if (observer) observer->kept(pkt.get());
        writer->write(pkt.get());
        av_packet_unref(pkt.get());
        report(false);
      }
    } catch (const hw::BackendError& e) {
      throw encoder_failed(e);
    }
  };
  auto send_preroll = [&](const WindowFrame& first) {
    const int count = std::min<int>(preroll, static_cast<int>(window.size()) + 1);
    const std::int64_t step =
        d.frame_rate_num > 0 && d.frame_rate_den > 0
            ? std::max<std::int64_t>(1, av_rescale_q(1, {d.frame_rate_den, d.frame_rate_num}, tb))
            : 1;
    keep_from_pts = first.frame->pts;
    for (int i = 0; i < count; ++i) {
      av::Frame copy(av_frame_clone(i == 0 ? first.frame.get() : window[i - 1].frame.get()));
      if (!copy) throw std::bad_alloc();
      copy->pts = keep_from_pts - (count - i) * step;
      try {
        encoder->send(copy.get(), false);
      } catch (const hw::BackendError& e) {
        throw encoder_failed(e);
      }
      drain();
    }
  };
  auto encode_front = [&] {
    WindowFrame wf = std::move(window.front());
    window.pop_front();
    if (stats.frames == 0 && preroll > 0) send_preroll(wf);
    const bool idr = forced.count(wf.index) > 0;
    if (idr) stats.keyframes.push_back(wf.index);
    try {
      if (die_mid_segment && stats.frames == d.frame_count() / 2)
        throw hw::BackendError(d.encoder.backend + ": injected session loss mid-segment (PVT_FAULT)");
      if (observer) observer->sent(wf.frame.get());
      encoder->send(wf.frame.get(), idr);
    } catch (const hw::BackendError& e) {
      throw encoder_failed(e);
    }
    ++stats.frames;
    drain();
    for (std::size_t r = 0; r < rungs.size(); ++r) rungs[r]->send(wf.rungs[r].get(), idr);
    mid_segment_fault(d, stats.frames);
    report(false);
  };

  const int wanted = d.frame_count() - (drop_last ? 1 : 0);
  int collected = 0;
  int prev_index = -1;
  int last_result = -1;  // the last frame whose measurements the detector has seen
  SceneSignal prev_signal = missing_signal(d.start_frame - 1);
  auto cut_at = [&](const std::vector<SceneCut>& cuts) {
    for (const auto& cut : cuts) {
      forced.insert(cut.frame);
      stats.detected_cuts.push_back(cut.frame);
    }
  };
  // Scene and complexity results, in frame order, into the detector and the segment's means.
  auto consume = [&] {
    for (const auto& r : results) {
      const int index = static_cast<int>(r.tag);
      const auto& m = r.measure;
      if (d.detect_scenes) {
        prev_signal = scene_signal(index, m, &prev_signal);
        cut_at(detector.push(prev_signal));
      }
      spatial_sum += kernels::spatial_complexity(m);
      temporal_sum += kernels::temporal_complexity(m);
      ++measured;
      last_result = index;
    }
    results.clear();
  };
  // Before `frame` is encoded, the detector must have decided on it: it decides a frame once it has seen
  // decision_delay() more (or the last frame submitted).
  auto ensure_known = [&](int frame) {
    if (last_result >= std::min(frame + detector.decision_delay(), prev_index)) return;
    analyzer->flush(results);
    consume();
  };
  while (collected < wanted) {
    AVFrame* decoded = reader.next();
    if (!decoded || decoded->pts >= d.end_pts) break;
    const int index = d.start_frame + collected;
    ++collected;

    AVFrame* filtered = filter.apply(decoded);
    std::vector<av::Frame> rung_frames;
    for (auto& rung : rungs) rung_frames.push_back(rung->scale(filtered, target_fmt));
    AVFrame* frame = converter.convert(filtered, target_fmt);
    if (!encoder) {
      const hw::EncoderConfig cfg = encoder_config(d, frame);
      try {
        if (hw::is_hardware_backend(d.encoder.backend) && hw_fault(d, "hw-open"))
          throw hw::BackendError(d.encoder.backend + ": injected session open failure (PVT_FAULT)");
        encoder = hw::open_encoder(d.encoder.backend, cfg);
      } catch (const hw::BackendError& e) {
        throw Error(ErrorCode::kEncode, "segment " + std::to_string(d.segment) + ": " + e.what());
      }
      stats.backend = encoder->backend();
      writer = std::make_unique<SegmentWriter>(part, encoder->context());
      if (observer) observer->opened(encoder->context());
      factor = kernels::reduction_factor(decoded->width, decoded->height);
    }

    // Scene and complexity kernels on the frame as it enters the look-ahead window.
    kernels::AnalysisFrame af = analysis_frame(decoded, hold_frames);
    af.tag = index;
    af.factor = factor;
    af.continues = prev_index == index - 1;
    analyzer->submit(af);
    prev_index = index;
    analyzer->poll(results);
    consume();

    WindowFrame wf{av::Frame(av_frame_clone(frame)), index, std::move(rung_frames)};
    if (!wf.frame) throw std::bad_alloc();
    window.push_back(std::move(wf));
    if (static_cast<int>(window.size()) > window_size) {
      ensure_known(window.front().index);
      encode_front();
    }
    report(false);
  }
  analyzer->flush(results);
  consume();
  if (d.detect_scenes) cut_at(detector.finish());
  if (!encoder) {
    throw Error(ErrorCode::kInput, "segment " + std::to_string(d.segment) +
                                       ": no frame could be decoded from " + d.input + " (input damaged?)");
  }
  while (!window.empty()) encode_front();
  encoder->send(nullptr, false);
  drain();
  writer->finish();
  for (auto& rung : rungs) rung->finish();
  report(true);

  if (collected != wanted || drop_last) {
    std::filesystem::remove(part);
    // kInput: the frames the index promised are not in the stream (a segment that fails this way on
    // every attempt is reported as an input error).
    throw Error(ErrorCode::kInput, "segment " + std::to_string(d.segment) + ": got " +
                                       std::to_string(collected) + " of " + std::to_string(d.frame_count()) +
                                       " frames from the decoder (input damaged or truncated?)");
  }
  if (writer->packets() != stats.frames) {
    std::filesystem::remove(part);
    throw Error(ErrorCode::kEncode, "segment " + std::to_string(d.segment) + ": the encoder gave " +
                                        std::to_string(writer->packets()) + " packets for " +
                                        std::to_string(stats.frames) + " frames");
  }
  for (auto& rung : rungs) rung->publish();
  rename_or_throw(part, d.output);
  corrupt_output_fault(d);
  if (!d.ladder.empty()) {
    const AVCodecContext* enc = encoder->context();
    stats.ladder.push_back({enc->width, enc->height, stats.frames, writer->bytes()});
    for (const auto& rung : rungs) stats.ladder.push_back(rung->stats());
  }

  stats.decoded_frames = reader.decoded_frames() - decoded_before;
  stats.bytes = writer->bytes();
  stats.first_pts = d.start_pts;
  stats.analysis_kernel = analyzer->name();
  stats.worker_pid = static_cast<int>(getpid());
  stats.mean_spatial = measured ? spatial_sum / measured : 0;
  stats.mean_temporal = measured ? temporal_sum / measured : 0;
  stats.encode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stats.cpu_seconds = cpu_seconds() - cpu0;
  return stats;
}

int run_descriptor(const std::string& descriptor_path, WorkerSession* session) {
  const SegmentDescriptor d = read_descriptor(descriptor_path);
  // PVT_FAULT=vanish:SEG[:ATTEMPTS]: a worker kept from an earlier segment is killed as it takes this
  // one, before a word about it, as the OOM killer might kill an idle worker.
  if (session && session->served > 0 &&
      fault_matches(std::getenv("PVT_FAULT"), "vanish", d.segment, current_attempt()))
    std::raise(SIGKILL);
  const WorkerStats stats =
      d.quality.enabled() ? run_quality_segment(d, session) : run_segment_worker(d, session);
  write_json_file(d.stats, nlohmann::json(stats));
  return d.segment;
}

void serve_segments() {
  // Each segment opens its decoder and encoder afresh, and x264 alone allocates tens of MB of frame
  // buffers. glibc would hand buffers over its mmap threshold back to the kernel when the segment ends
  // and trim the heap, so the next segment faulted and zeroed every page again (143k minor faults against
  // 84k, 0.3 s of system time in a 20 s job). Kept in the heap they serve the next segment; the pool
  // already counts an idle worker at its peak.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  WorkerSession session;
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto space = line.find(' ');
    if (space == std::string::npos) throw Error(ErrorCode::kUsage, "worker --serve: expected 'ATTEMPT PATH'");
    // The attempt number drives the fault-injection hooks, as PVT_WORKER_ATTEMPT does for one segment.
    setenv("PVT_WORKER_ATTEMPT", line.substr(0, space).c_str(), 1);
    const int segment = run_descriptor(line.substr(space + 1), &session);
    ++session.served;
    std::printf("{\"done\":%d}\n", segment);
    std::fflush(stdout);
  }
}

}  // namespace pvt
