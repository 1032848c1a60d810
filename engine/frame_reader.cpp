#include "frame_reader.hpp"

#include <algorithm>

#include "cuda_hwdevice.hpp"
#include "error.hpp"
#include "media_index.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace pvt {

namespace {

// NVDEC when FFmpeg offers it for this stream (profile and size permitting), else the software format.
AVPixelFormat pick_cuda_format(AVCodecContext*, const AVPixelFormat* formats) {
  for (const AVPixelFormat* f = formats; *f != AV_PIX_FMT_NONE; ++f)
    if (*f == AV_PIX_FMT_CUDA) return *f;
  for (const AVPixelFormat* f = formats; *f != AV_PIX_FMT_NONE; ++f) {
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(*f);
    if (d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL)) return *f;
  }
  return AV_PIX_FMT_NONE;
}

}  // namespace

FrameReader::FrameReader(const std::string& path, int video_stream, Options options)
    : path_(path), video_stream_(video_stream), options_(options) {
  AVFormatContext* raw = nullptr;
  check_av(avformat_open_input(&raw, path.c_str(), nullptr, nullptr), ErrorCode::kInput, path);
  fmt_.reset(raw);
  generate_missing_pts(fmt_.get());
  check_av(avformat_find_stream_info(fmt_.get(), nullptr), ErrorCode::kInput, path);
  if (video_stream < 0 || video_stream >= static_cast<int>(fmt_->nb_streams) ||
      fmt_->streams[video_stream]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
    throw Error(ErrorCode::kInput,
                path + ": stream " + std::to_string(video_stream) + " is not a video stream");
  for (unsigned i = 0; i < fmt_->nb_streams; ++i)
    if (static_cast<int>(i) != video_stream) fmt_->streams[i]->discard = AVDISCARD_ALL;
  open_decoder();
}

AVRational FrameReader::time_base() const {
  return fmt_->streams[video_stream_]->time_base;
}

void FrameReader::open_decoder() {
  const AVStream* st = fmt_->streams[video_stream_];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec)
    throw Error(ErrorCode::kInput, path_ + ": no decoder for " + avcodec_get_name(st->codecpar->codec_id));
  dec_.reset(avcodec_alloc_context3(codec));
  if (!dec_) throw std::bad_alloc();
  check_av(avcodec_parameters_to_context(dec_.get(), st->codecpar), ErrorCode::kInternal,
           "decoder parameters");
  dec_->pkt_timebase = st->time_base;
  dec_->thread_count = std::max(1, options_.threads);
  dec_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  if (options_.cuda_device && hw::nvdec_decodes(codec->id)) {
    dec_->hw_device_ctx = av_buffer_ref(options_.cuda_device);
    if (!dec_->hw_device_ctx) throw std::bad_alloc();
    dec_->get_format = pick_cuda_format;
    dec_->thread_count = 1;  // NVDEC does the work; CPU threads would only add frames in flight
  }
  if (options_.fast_decode) {
    dec_->skip_loop_filter = AVDISCARD_ALL;
    dec_->flags2 |= AV_CODEC_FLAG2_FAST;
  }
  check_av(avcodec_open2(dec_.get(), codec, nullptr), ErrorCode::kInput, path_ + ": opening the decoder");
}

void FrameReader::seek(int candidate) {
  candidate_ = candidate;
  int ret;
  if (candidate < 0) {
    // Back to the start of the file. Containers that binary-search packet timestamps (MPEG-PS/TS) can miss
    // the first GOP when asked for the start time (a reused reader, seeking back to cityCC0.mpg's first
    // frame, landed on its second keyframe), so those go back by byte position, which cannot miss.
    ret = -1;
    if (fmt_->iformat->read_timestamp && !(fmt_->iformat->flags & AVFMT_NO_BYTE_SEEK))
      ret = av_seek_frame(fmt_.get(), -1, 0, AVSEEK_FLAG_BYTE);
    if (ret < 0)
      ret = avformat_seek_file(fmt_.get(), -1, INT64_MIN,
                               fmt_->start_time != AV_NOPTS_VALUE ? fmt_->start_time : 0, INT64_MAX,
                               AVSEEK_FLAG_BACKWARD);
    if (ret < 0) ret = av_seek_frame(fmt_.get(), -1, 0, AVSEEK_FLAG_BYTE);
  } else {
    const SeekPoint& k = candidates_[candidate];
    // Containers with an index of their own (MP4, Matroska) find the keyframe by its presentation
    // timestamp: seeking MP4 on the decode timestamp (earlier by the B-frame delay) landed one keyframe
    // early, and every segment decoded a whole GOP only to drop it (72 frames for 48 on a 1 s GOP:
    // benchmarks/plan_balance.py). Those that binary-search packet timestamps (MPEG-TS/PS: read_timestamp)
    // compare decode timestamps, so there the earlier of the two lands on the keyframe, not after it.
    const bool searches_dts = fmt_->iformat->read_timestamp != nullptr;
    const std::int64_t ts = k.dts != AV_NOPTS_VALUE && searches_dts ? std::min(k.dts, k.pts) : k.pts;
    ret = av_seek_frame(fmt_.get(), video_stream_, ts, AVSEEK_FLAG_BACKWARD);
  }
  if (ret < 0) throw Error(ErrorCode::kInput, path_ + ": seek failed (" + av_error_text(ret) + ")");
  avcodec_flush_buffers(dec_.get());
  last_pts_ = INT64_MIN;
  wait_for_key_ = true;
  draining_ = false;
  finished_ = false;
  checked_landing_ = candidate < 0;  // from the start of the file nothing can come too late
}

void FrameReader::start_at(std::int64_t first_pts, const std::vector<SeekPoint>& keyframes) {
  first_pts_ = first_pts;
  candidates_ = keyframes;
  // A fresh reader asked for the beginning needs no seek: the demuxer is already there.
  if (!touched_ && candidates_.empty()) {
    candidate_ = -1;
    checked_landing_ = true;
    wait_for_key_ = false;
    return;
  }
  seek(candidates_.empty() ? -1 : static_cast<int>(candidates_.size()) - 1);
}

bool FrameReader::feed_decoder() {
  while (!draining_) {
    touched_ = true;
    const int ret = av_read_frame(fmt_.get(), pkt_.get());
    if (ret < 0) {
      // EOF or a damaged tail: either way, drain what the decoder holds.
      avcodec_send_packet(dec_.get(), nullptr);
      draining_ = true;
      return true;
    }
    if (pkt_->stream_index != video_stream_ || (wait_for_key_ && !(pkt_->flags & AV_PKT_FLAG_KEY))) {
      av_packet_unref(pkt_.get());
      continue;
    }
    wait_for_key_ = false;
    const int sret = avcodec_send_packet(dec_.get(), pkt_.get());
    av_packet_unref(pkt_.get());
    // Damaged packets are skipped (the frame count check catches what goes missing); anything else is fatal.
    if (sret < 0 && sret != AVERROR(EAGAIN) && sret != AVERROR_INVALIDDATA) {
      throw Error(ErrorCode::kInput, path_ + ": decoding failed (" + av_error_text(sret) + ")");
    }
    return true;
  }
  return false;
}

AVFrame* FrameReader::next() {
  while (!finished_) {
    const int ret = avcodec_receive_frame(dec_.get(), frame_.get());
    if (ret == AVERROR(EAGAIN)) {
      if (!feed_decoder()) finished_ = true;
      continue;
    }
    if (ret == AVERROR_EOF) {
      finished_ = true;
      break;
    }
    if (ret == AVERROR_INVALIDDATA) continue;
    if (ret < 0) throw Error(ErrorCode::kInput, path_ + ": decoding failed (" + av_error_text(ret) + ")");
    ++decoded_;
    const std::int64_t pts =
        frame_->best_effort_timestamp != AV_NOPTS_VALUE ? frame_->best_effort_timestamp : frame_->pts;
    frame_->pts = pts;
    if (pts == AV_NOPTS_VALUE) continue;
    if (!checked_landing_) {
      checked_landing_ = true;
      // The seek can land after the keyframe asked for (imprecise indexes, program streams): then try the
      // previous candidate, and finally the start of the file.
      if (pts > first_pts_) {
        seek(candidate_ - 1);
        continue;
      }
    }
    // Damaged or spliced input can decode a frame whose pts repeats or goes back (the probe keeps one
    // frame per pts, in order): passed on, it would reach the encoder out of order and the segment's
    // muxer would refuse the packets. Dropped here, it is a missing frame, which callers count.
    if (pts < first_pts_ || pts <= last_pts_) continue;
    last_pts_ = pts;
    return frame_.get();
  }
  return nullptr;
}

}  // namespace pvt
