#include "audio_track.hpp"

#include <algorithm>
#include <filesystem>

#include "av_handles.hpp"
#include "cancellation.hpp"
#include "error.hpp"

extern "C" {
#include <libavutil/audio_fifo.h>
#include <libavutil/opt.h>
}

namespace pvt {

const char* audio_mode_name(AudioMode m) {
  switch (m) {
    case AudioMode::kAac:
      return "aac";
    case AudioMode::kCopy:
      return "copy";
    case AudioMode::kNone:
      return "none";
    default:
      return "auto";
  }
}

AudioMode parse_audio_mode(const std::string& s) {
  if (s == "auto") return AudioMode::kAuto;
  if (s == "aac") return AudioMode::kAac;
  if (s == "copy") return AudioMode::kCopy;
  if (s == "none") return AudioMode::kNone;
  throw Error(ErrorCode::kUsage, "--audio must be auto, aac, copy or none, not '" + s + "'");
}

namespace {

struct FifoDeleter {
  void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};

// The encoder for an output audio codec: FFmpeg's native AAC, or libopus (WebM's audio; FFmpeg's own Opus
// encoder is experimental).
const AVCodec* audio_encoder(const std::string& codec) {
  const AVCodec* ec =
      codec == "opus" ? avcodec_find_encoder_by_name("libopus") : avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (!ec) throw Error(ErrorCode::kEncode, "no " + codec + " encoder in this FFmpeg");
  return ec;
}

// Decode -> resample to the encoder's format -> its fixed-size frames -> encode -> NUT.
class AudioEncoder {
 public:
  AudioEncoder(const MediaInfo& info, int stream, const std::string& codec, std::int64_t bitrate,
               const std::string& out_path)
      : out_path_(out_path), codec_(codec) {
    AVFormatContext* raw = nullptr;
    check_av(avformat_open_input(&raw, info.path.c_str(), nullptr, nullptr), ErrorCode::kInput, info.path);
    in_.reset(raw);
    check_av(avformat_find_stream_info(in_.get(), nullptr), ErrorCode::kInput, info.path);
    stream_ = stream;
    for (unsigned i = 0; i < in_->nb_streams; ++i)
      if (static_cast<int>(i) != stream_) in_->streams[i]->discard = AVDISCARD_ALL;
    AVStream* st = in_->streams[stream_];
    const AVCodec* dc = avcodec_find_decoder(st->codecpar->codec_id);
    if (!dc)
      throw Error(ErrorCode::kInput, info.path + ": no decoder for audio codec " +
                                         avcodec_get_name(in_->streams[stream_]->codecpar->codec_id));
    dec_.reset(avcodec_alloc_context3(dc));
    check_av(avcodec_parameters_to_context(dec_.get(), st->codecpar), ErrorCode::kInput, "audio decoder");
    dec_->pkt_timebase = st->time_base;
    check_av(avcodec_open2(dec_.get(), dc, nullptr), ErrorCode::kInput,
             info.path + ": opening the audio decoder");

    const AVCodec* ec = audio_encoder(codec);
    const bool opus = codec == "opus";
    enc_.reset(avcodec_alloc_context3(ec));
    AVCodecContext* e = enc_.get();
    // Opus runs at 48 kHz (the decoder's output rate whatever went in) on interleaved floats.
    e->sample_fmt = opus ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_FLTP;
    e->sample_rate = opus || dec_->sample_rate <= 0 ? 48000 : dec_->sample_rate;
    // The native encoder handles mono, stereo and the common surround layouts; anything else is downmixed.
    // libopus lists no layouts: it takes up to 8 channels (surround through its mapping family 1).
    AVChannelLayout layout = dec_->ch_layout;
    if (layout.nb_channels <= 0 || layout.nb_channels > 8 || layout.order != AV_CHANNEL_ORDER_NATIVE)
      layout = AV_CHANNEL_LAYOUT_STEREO;
    bool supported = ec->ch_layouts == nullptr;
    for (const AVChannelLayout* l = ec->ch_layouts; l && l->nb_channels; ++l)
      if (av_channel_layout_compare(l, &layout) == 0) supported = true;
    if (!supported)
      layout = layout.nb_channels == 1 ? AVChannelLayout(AV_CHANNEL_LAYOUT_MONO)
                                       : AVChannelLayout(AV_CHANNEL_LAYOUT_STEREO);
    check_av(av_channel_layout_copy(&e->ch_layout, &layout), ErrorCode::kInternal, "channel layout");
    e->bit_rate = bitrate > 0 ? bitrate
                              : 64000LL * std::min(e->ch_layout.nb_channels, 2) +
                                    32000LL * std::max(0, e->ch_layout.nb_channels - 2);
    e->time_base = {1, e->sample_rate};
    e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    check_av(avcodec_open2(e, ec, nullptr), ErrorCode::kEncode, "opening the " + codec + " encoder");

    SwrContext* swr = nullptr;
    check_av(swr_alloc_set_opts2(&swr, &e->ch_layout, e->sample_fmt, e->sample_rate, &dec_->ch_layout,
                                 dec_->sample_fmt, dec_->sample_rate, 0, nullptr),
             ErrorCode::kInternal, "audio resampler");
    swr_.reset(swr);
    check_av(swr_init(swr_.get()), ErrorCode::kInternal, "audio resampler");
    fifo_.reset(av_audio_fifo_alloc(e->sample_fmt, e->ch_layout.nb_channels, e->frame_size * 4));

    AVFormatContext* oraw = nullptr;
    check_av(avformat_alloc_output_context2(&oraw, nullptr, "nut", out_path.c_str()), ErrorCode::kOutput,
             out_path);
    out_.reset(oraw);
    ost_ = avformat_new_stream(out_.get(), nullptr);
    check_av(avcodec_parameters_from_context(ost_->codecpar, e), ErrorCode::kInternal, "audio stream");
    ost_->time_base = e->time_base;
    check_av(avio_open(&out_->pb, out_path.c_str(), AVIO_FLAG_WRITE), ErrorCode::kOutput, out_path);
    check_av(avformat_write_header(out_.get(), nullptr), ErrorCode::kOutput, out_path);
  }

  AudioTrack run(const std::atomic<bool>* cancel) {
    av::Packet pkt = av::make_packet();
    av::Frame frame = av::make_frame();
    while (av_read_frame(in_.get(), pkt.get()) >= 0) {
      if (stop_requested(cancel)) throw Error(ErrorCode::kInterrupted, "audio encoding cancelled");
      if (pkt->stream_index == stream_) {
        // A damaged packet loses its samples, not the whole track.
        if (avcodec_send_packet(dec_.get(), pkt.get()) >= 0) drain_decoder(frame.get());
      }
      av_packet_unref(pkt.get());
    }
    avcodec_send_packet(dec_.get(), nullptr);
    drain_decoder(frame.get());
    // Flush the resampler's delay, then the last partial frame, then the encoder.
    push_samples(nullptr, 0);
    while (av_audio_fifo_size(fifo_.get()) > 0) encode_from_fifo(true);
    encode(nullptr);
    check_av(av_write_trailer(out_.get()), ErrorCode::kOutput, out_path_);
    check_av(avio_closep(&out_->pb), ErrorCode::kOutput, out_path_);
    AudioTrack t;
    t.present = packets_ > 0;
    t.path = out_path_;
    t.stream = 0;
    t.expected_first_pts = av_rescale_q(first_packet_pts_, enc_->time_base, ost_->time_base);
    t.realign = true;
    t.codec = codec_;
    t.encoded = true;
    t.packets = packets_;
    return t;
  }

 private:
  void drain_decoder(AVFrame* frame) {
    while (avcodec_receive_frame(dec_.get(), frame) >= 0) {
      if (next_pts_ == AV_NOPTS_VALUE) {
        const std::int64_t ts = frame->best_effort_timestamp;
        next_pts_ =
            ts != AV_NOPTS_VALUE ? av_rescale_q(ts, in_->streams[stream_]->time_base, enc_->time_base) : 0;
      }
      push_samples(const_cast<const uint8_t**>(frame->extended_data), frame->nb_samples);
      av_frame_unref(frame);
      while (av_audio_fifo_size(fifo_.get()) >= enc_->frame_size) encode_from_fifo(false);
    }
  }

  void push_samples(const uint8_t** data, int count) {
    const int out_count = swr_get_out_samples(swr_.get(), count);
    if (out_count <= 0) return;
    std::vector<uint8_t*> planes(enc_->ch_layout.nb_channels);
    check_av(
        av_samples_alloc(planes.data(), nullptr, enc_->ch_layout.nb_channels, out_count, enc_->sample_fmt, 0),
        ErrorCode::kInternal, "audio buffer");
    const int got = swr_convert(swr_.get(), planes.data(), out_count, data, count);
    if (got > 0) av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(planes.data()), got);
    av_freep(&planes[0]);
  }

  void encode_from_fifo(bool partial_ok) {
    const int n = std::min(av_audio_fifo_size(fifo_.get()), enc_->frame_size);
    if (n <= 0 || (!partial_ok && n < enc_->frame_size)) return;
    av::Frame f = av::make_frame();
    f->nb_samples = n;
    f->format = enc_->sample_fmt;
    f->sample_rate = enc_->sample_rate;
    av_channel_layout_copy(&f->ch_layout, &enc_->ch_layout);
    check_av(av_frame_get_buffer(f.get(), 0), ErrorCode::kInternal, "audio frame");
    av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(f->data), n);
    f->pts = next_pts_ == AV_NOPTS_VALUE ? 0 : next_pts_;
    next_pts_ = f->pts + n;
    encode(f.get());
  }

  void encode(AVFrame* f) {
    check_av(avcodec_send_frame(enc_.get(), f), ErrorCode::kEncode, codec_ + " encoding");
    av::Packet p = av::make_packet();
    while (avcodec_receive_packet(enc_.get(), p.get()) >= 0) {
      if (packets_ == 0) first_packet_pts_ = p->pts;
      ++packets_;
      av_packet_rescale_ts(p.get(), enc_->time_base, ost_->time_base);
      p->stream_index = 0;
      check_av(av_write_frame(out_.get(), p.get()), ErrorCode::kOutput, out_path_);
      av_packet_unref(p.get());
    }
  }

  std::string out_path_;
  std::string codec_;
  av::InputFormat in_;
  int stream_ = -1;
  av::CodecContext dec_;
  av::CodecContext enc_;
  av::Resampler swr_;
  std::unique_ptr<AVAudioFifo, FifoDeleter> fifo_;
  av::OutputFormat out_;
  AVStream* ost_ = nullptr;
  std::int64_t next_pts_ = AV_NOPTS_VALUE;
  std::int64_t first_packet_pts_ = 0;
  std::int64_t packets_ = 0;
};

}  // namespace

AudioTrack prepare_audio(const MediaInfo& info, int stream, bool encode, const std::string& codec,
                         std::int64_t bitrate, const std::string& work_dir, const std::atomic<bool>* cancel) {
  AudioTrack t;
  if (!encode) {
    t.present = true;
    t.path = info.path;
    t.stream = stream;
    t.codec = info.streams.at(stream).codec;
  } else {
    const auto out = std::filesystem::path(work_dir) / ("audio_" + std::to_string(stream) + ".nut");
    t = AudioEncoder(info, stream, codec, bitrate, out.string()).run(cancel);
  }
  t.input_stream = stream;
  return t;
}

}  // namespace pvt
